import 'reflect-metadata';
import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import fc from 'fast-check';
import { CriticalSoundDto, ExtendDto, NotificationDto, PushRequestDto } from '../notification/notification.dto';
import { ValidationFastPath } from './validation.fast-path';

const BODY: ArgumentMetadata = { type: 'body', metatype: PushRequestDto, data: '' };

/** Nest's pipe with the options of the gateway's, without the fast path: the reference. */
const reference = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false });
const fast = new ValidationFastPath(PushRequestDto);

/** The reference's result for a JSON text, or 'refused'. */
async function full(json: string): Promise<unknown> {
  try {
    return (await reference.transform(JSON.parse(json), BODY)) as unknown;
  } catch {
    return 'refused';
  }
}

const EVERY_FIELD = {
  token: ['6f2c1e0a9b1d', 'b'.repeat(64)],
  platform: 1,
  message: 'hello',
  app: 'brand_b',
  identifier: 'campaign-7',
  title: 't',
  subtitle: 's',
  badge: 0,
  category: 'MESSAGE',
  sound: 'default',
  content_available: true,
  mutable_content: false,
  expiry: 0,
  push_type: 'background',
  collapse_key: 'inbox',
  delay_while_idle: false,
  time_to_live: 0,
  priority: 'high',
  topic: 'com.example.app',
  thread_id: 'chat-42',
  collapse_id: 'score',
  critical_sound: { critical: 1, name: 'default', volume: 0.5 },
  fcm_notification: true,
  image: 'https://example.com/a.png',
  data: { deep_link: 'app://inbox/42', nested: { list: [1, 'two', null] } },
  extend: [{ key: 'k', val: '' }],
  retry: -3,
  seq_id: 7,
};

describe('ValidationFastPath', () => {
  it.each([
    ['the smallest request', { notifications: [{ token: ['t'], platform: 2, message: 'm' }] }],
    ['every field', { notifications: [EVERY_FIELD, { token: ['t'], platform: 2, message: '', expiry: 60, time_to_live: 86400 }] }],
    ['nulls for optional fields', { notifications: [{ token: ['t'], platform: 2, message: 'm', title: null, extend: null, critical_sound: null }] }],
  ])('builds the instances class-transformer builds for %s', async (_case, body) => {
    const json = JSON.stringify(body);
    const built = fast.build<PushRequestDto>(JSON.parse(json));
    expect(built).toBeDefined();
    expect(built).toStrictEqual(await full(json));
    expect(built).toBeInstanceOf(PushRequestDto);
    for (const n of built!.notifications) expect(n).toBeInstanceOf(NotificationDto);
  });

  it('gives nested objects their classes and applies the @Transform of zero as unset', () => {
    const built = fast.build<PushRequestDto>(JSON.parse(JSON.stringify({ notifications: [EVERY_FIELD] })));
    const [n] = built!.notifications;
    expect(n.critical_sound).toBeInstanceOf(CriticalSoundDto);
    expect(n.extend![0]).toBeInstanceOf(ExtendDto);
    expect(n.expiry).toBeUndefined();
    expect(n.time_to_live).toBeUndefined();
  });

  it.each([
    ['an unknown key', { notifications: [{ token: ['t'], platform: 2, message: 'm', colour: 'red' }] }],
    ['a key in another case', { notifications: [{ Token: ['t'], platform: 2, message: 'm' }] }],
    ['a wrong platform', { notifications: [{ token: ['t'], platform: 3, message: 'm' }] }],
    ['no notifications', { notifications: [] }],
    ['an array for a notification', { notifications: [[]] }],
    ['a string for a nested object', { notifications: [{ token: ['t'], platform: 2, message: 'm', critical_sound: 'x' }] }],
    ['an empty token', { notifications: [{ token: [''], platform: 2, message: 'm' }] }],
    ['a badge with a fraction', { notifications: [{ token: ['t'], platform: 1, message: 'm', badge: 1.5 }] }],
  ])('leaves %s to the full path, which refuses it', async (_case, body) => {
    const json = JSON.stringify(body);
    expect(fast.build(JSON.parse(json))).toBeUndefined();
    expect(await full(json)).toBe('refused');
  });

  it('leaves a body with a key the pipe strips (deep in data) to the full path, which strips it', async () => {
    const json = JSON.stringify({ notifications: [{ token: ['t'], platform: 2, message: 'm', data: { a: { constructor: 1 } } }] });
    expect(fast.build(JSON.parse(json))).toBeUndefined();
    expect(await full(json)).toMatchObject({ notifications: [{ data: { a: {} } }] });
  });

  it('never accepts what the full path refuses, and builds what it builds', async () => {
    const field = fc.constantFrom(...Object.keys(EVERY_FIELD), 'Platform', 'unknown', '__proto__');
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(null, '', 0, 1, 2, -1, 1.5, 2147483648, 31536001, true, 'x'.repeat(5000), [], {}, ['t'], [''], [1]),
      fc.constantFrom(...Object.values(EVERY_FIELD)),
    );
    const notification = fc
      .tuple(fc.dictionary(field, value, { maxKeys: 2 }), fc.subarray(Object.keys(EVERY_FIELD), { maxLength: 2 }))
      .map(([changes, removed]) => {
        const n: Record<string, unknown> = { ...EVERY_FIELD, ...changes };
        for (const key of removed) delete n[key];
        return n;
      });
    const body = fc.oneof(
      fc.record({ notifications: fc.array(notification, { minLength: 1, maxLength: 3 }) }),
      fc.record({ notifications: fc.array(fc.oneof(notification, fc.jsonValue({ maxDepth: 1 })), { maxLength: 2 }) }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    let built = 0;
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const json = JSON.stringify(b);
        const mine = fast.build(JSON.parse(json));
        const theirs = await full(json);
        if (mine === undefined) return;
        built++;
        expect(theirs).not.toBe('refused');
        expect(mine).toStrictEqual(theirs);
      }),
      { numRuns: 1500 },
    );
    // The comparison above means something only if the fast path answered for a fair share of the bodies.
    expect(built).toBeGreaterThan(50);
  });
});
