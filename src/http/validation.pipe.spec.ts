import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { PushRequestDto, type NotificationDto } from '../notification/notification.dto';
import { createValidationPipe, matchKeys, PUSH_REQUEST_KEYS } from './validation.pipe';

const BODY: ArgumentMetadata = { type: 'body', metatype: PushRequestDto, data: '' };

describe('matchKeys (Go encoding/json key matching)', () => {
  it('returns a body whose keys all match exactly as it is, without copying', () => {
    const body = { notifications: [{ token: ['t'], platform: 2, message: 'm', extend: [{ key: 'k', val: 'v' }] }] };
    const ignored: string[] = [];
    expect(matchKeys(body, PUSH_REQUEST_KEYS, '', ignored)).toBe(body);
    expect(ignored).toEqual([]);
  });

  it('matches keys in another case, a later key setting the same field winning as in Go, and leaves the source alone', () => {
    const notification = JSON.parse(
      '{"TOKEN":["first"],"token":["second"],"Platform":2,"message":"m","extend":[{"Key":"k","val":"v"}]}',
    ) as object;
    const ignored: string[] = [];
    const matched = matchKeys({ notifications: [notification] }, PUSH_REQUEST_KEYS, '', ignored);
    expect(matched).toEqual({ notifications: [{ token: ['second'], platform: 2, message: 'm', extend: [{ key: 'k', val: 'v' }] }] });
    expect(ignored).toEqual([]);
    expect(Object.keys(notification)).toEqual(['TOKEN', 'token', 'Platform', 'message', 'extend']);
  });

  it('leaves out unknown keys (even __proto__) and names each by its path', () => {
    const body = JSON.parse(
      '{"notifications":[{"token":["t"],"platform":1,"message":"m","__proto__":{"x":1},"seq_id":3},"x"],"Extra":1}',
    ) as object;
    const ignored: string[] = [];
    const matched = matchKeys(body, PUSH_REQUEST_KEYS, '', ignored) as { notifications: unknown[] };
    expect(matched).toEqual({ notifications: [{ token: ['t'], platform: 1, message: 'm', seq_id: 3 }, 'x'] });
    expect(Object.getPrototypeOf(matched.notifications[0])).toBe(Object.prototype);
    expect(ignored).toEqual(['notifications[0].__proto__: unknown key, ignored', 'Extra: unknown key, ignored']);
  });
});

describe('the validation pipe on POST /push bodies', () => {
  it('lists ignored keys as the request warnings and validates the rest as before', async () => {
    const request = (await createValidationPipe().transform(
      { notifications: [{ token: ['t'], platform: 2, message: 'm', data_while_idle: true, Time_To_Live: 0, expiry: 0, retry: 2 }] },
      BODY,
    )) as PushRequestDto;
    expect(request).toBeInstanceOf(PushRequestDto);
    expect(request.warnings).toEqual(['notifications[0].data_while_idle: unknown key, ignored']);
    const [n] = request.notifications as (NotificationDto & Record<string, unknown>)[];
    expect(n.time_to_live).toBeUndefined();
    expect(n.expiry).toBeUndefined();
    expect(n.retry).toBe(2);
    expect('data_while_idle' in n).toBe(false);
  });

  it('keeps the other bounds of time_to_live and expiry', async () => {
    const pipe = createValidationPipe();
    const request = (await pipe.transform(
      { notifications: [{ token: ['t'], platform: 2, message: 'm', time_to_live: 1 }] },
      BODY,
    )) as PushRequestDto;
    expect(request.notifications[0].time_to_live).toBe(1);
    expect(request.warnings).toBeUndefined();
    await expect(
      pipe.transform({ notifications: [{ token: ['t'], platform: 2, message: 'm', time_to_live: -1 }] }, BODY),
    ).rejects.toMatchObject({
      response: { message: 'notifications[0].time_to_live: time_to_live must not be less than 0' },
    });
  });

  it('with strictKeys refuses unknown keys and keys in another case, with the messages of before', async () => {
    const pipe = createValidationPipe({ strictKeys: true });
    await expect(
      pipe.transform({ notifications: [{ Token: ['t'], platform: 2, message: 'm', data_while_idle: true }] }, BODY),
    ).rejects.toMatchObject({
      response: {
        errors: [
          'notifications[0].Token: property Token should not exist',
          'notifications[0].data_while_idle: property data_while_idle should not exist',
          'notifications[0].token: token should not be empty',
          'notifications[0].token: token must be an array',
        ],
      },
    });
  });
});
