import { CONFIG_DEFAULTS, DEFAULT_APP, type AppConfig, type PushgateConfig } from '../config/pushgate.config';
import type { GorushNotificationDto } from './gorush.dto';
import { inGorushNames, toNotification, unsupportedField } from './gorush.mapping';

function configWithSandbox(sandbox: boolean): PushgateConfig {
  const app: AppConfig = { ios: { ...CONFIG_DEFAULTS.ios, sandbox }, android: CONFIG_DEFAULTS.android, in_flight_max: 0, api_keys: '' };
  return { ...(CONFIG_DEFAULTS as PushgateConfig), apps: { [DEFAULT_APP]: app } };
}

const map = (g: Partial<GorushNotificationDto>, sandbox = true, now = 1_800_000_000_000) =>
  toNotification(g as GorushNotificationDto, 'notifications[0]', now, configWithSandbox(sandbox));

describe('toNotification (Gorush to pushgate)', () => {
  it("turns Gorush's absolute expiration into seconds from now, and a past one into none", () => {
    const now = 1_800_000_000_500;
    expect(map({ tokens: ['t'], platform: 1, expiration: 1_800_000_600 }, true, now).notification.expiry).toBe(600);
    expect(map({ tokens: ['t'], platform: 1, expiration: 1_799_999_000 }, true, now).notification.expiry).toBeUndefined();
  });

  it('reads thread-id under both spellings, iOS only', () => {
    expect(map({ tokens: ['t'], platform: 1, 'thread-id': 'a' }).notification.thread_id).toBe('a');
    expect(map({ tokens: ['t'], platform: 1, thread_id: 'b' }).notification.thread_id).toBe('b');
    expect(map({ tokens: ['t'], platform: 2, thread_id: 'b' }).notification.thread_id).toBeUndefined();
  });

  it('refuses the APNs environment the gateway does not send to, and accepts the one it does', () => {
    expect(map({ tokens: ['t'], platform: 1, development: true }, false).problems).toEqual([
      'notifications[0].development: this gateway sends to APNs production (ios.sandbox = false)',
    ]);
    expect(map({ tokens: ['t'], platform: 1, production: true }, false).problems).toEqual([]);
    expect(map({ tokens: ['t'], platform: 1, development: true }, true).problems).toEqual([]);
  });

  it('appends `to` to the tokens; refuses an FCM duration it cannot read', () => {
    expect(map({ tokens: ['a'], to: 'b', platform: 2 }).notification.token).toEqual(['a', 'b']);
    expect(map({ tokens: ['a'], platform: 2, android: { ttl: '1h' } }).problems).toEqual([
      'notifications[0].android.ttl: expected seconds with an "s" suffix, like "3600s"',
    ]);
  });
});

describe("validation messages in Gorush's names", () => {
  it('renames the fields pushgate calls otherwise, and says an unknown field is not supported', () => {
    expect(inGorushNames('notifications[2].token: each value in token should not be empty')).toBe(
      'notifications[2].tokens: each value in token should not be empty',
    );
    expect(inGorushNames('notifications[0].badge: badge must not be less than 0')).toBe(
      'notifications[0].badge: badge must not be less than 0',
    );
    expect(unsupportedField('notifications[0].alert.loc-key: property loc-key should not exist')).toBe(
      'notifications[0].alert.loc-key: not supported by pushgate',
    );
  });
});
