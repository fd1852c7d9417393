import { Notification } from 'apns2';
import type { NotificationDto } from '../notification/notification.dto';
import { apnsMessage } from '../apns/apns.client';
import { toApnsOptions, toFcmMessage } from './push.payload';
import { maskToken } from './push.log';

const dto = (fields: Partial<NotificationDto>): NotificationDto => ({ token: ['t'], platform: 1, message: 'hi', ...fields });

describe('APNs mapping', () => {
  it('alert is the plain message without title or subtitle, an object with one, without empty keys', () => {
    expect(new Notification('t', toApnsOptions(dto({}), 0)).buildApnsOptions()).toEqual({ aps: { alert: 'hi' } });
    expect(new Notification('t', toApnsOptions(dto({ subtitle: 's' }), 0)).buildApnsOptions()).toEqual({
      aps: { alert: { subtitle: 's', body: 'hi' } },
    });
  });

  it('an empty message sends no alert (silent push); badge only when given', () => {
    expect(new Notification('t', toApnsOptions(dto({ message: '', content_available: true }), 0)).buildApnsOptions()).toEqual({
      aps: { 'content-available': 1 },
    });
    expect(new Notification('t', toApnsOptions(dto({ badge: 3 }), 0)).buildApnsOptions().aps.badge).toBe(3);
  });

  it('expiry becomes an absolute expiration; background gets priority 5', () => {
    const options = toApnsOptions(dto({ expiry: 30, push_type: 'background' }), 1_000_000);
    expect(options.expiration).toBe(1030);
    expect(options.priority).toBe(5);
    expect(options.type).toBe('background');
  });

  it('measures the payload as sent', () => {
    const options = toApnsOptions(dto({ message: 'x'.repeat(100) }), 0);
    expect(Buffer.byteLength(apnsMessage(options).payload)).toBe(Buffer.byteLength(JSON.stringify({ aps: { alert: 'x'.repeat(100) } })));
  });
});

describe('FCM mapping', () => {
  it('serialises the message once with a slot for the token', () => {
    const prepared = toFcmMessage(
      dto({
        platform: 2,
        extend: [
          { key: 'message', val: 'override' },
          { key: 'k', val: 'v' },
        ],
        time_to_live: 0,
      }),
    );
    const body = JSON.parse(prepared.head + JSON.stringify('tok"en') + prepared.tail);
    expect(body).toEqual({ message: { token: 'tok"en', data: { message: 'override', k: 'v' }, android: { ttl: '0s' } } });
  });
});

describe('maskToken', () => {
  it('keeps the ends of long tokens and hides short ones entirely', () => {
    expect(maskToken('0123456789abcdef0123')).toBe('01234567...0123');
    expect(maskToken('short')).toBe('*****');
  });
});
