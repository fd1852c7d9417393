import { AppsSettings, CONFIG_DEFAULTS, type AppConfig } from '../config/pushgate.config';
import { parsePlatform, platformName, PLATFORM_ANDROID, PLATFORM_IOS, type NotificationDto } from '../notification/notification.dto';
import { SENT } from './provider.result';
import { ProviderRegistry } from './provider.registry';
import type { PushProvider } from './push.provider';

function provider(platform: typeof PLATFORM_IOS | typeof PLATFORM_ANDROID, problems: string[] = []): PushProvider {
  return {
    platform,
    name: platformName(platform),
    title: platform === PLATFORM_IOS ? 'iOS' : 'Android',
    prepare: () => ({}),
    validate: () => problems,
    send: () => Promise.resolve(SENT),
    deadTokenReason: () => undefined,
  };
}

function registry(defaultIos: boolean, namedAndroid: boolean): ProviderRegistry {
  const app = (ios: boolean, android: boolean): AppConfig => ({
    ios: { ...CONFIG_DEFAULTS.ios, enabled: ios },
    android: { ...CONFIG_DEFAULTS.android, enabled: android },
    in_flight_max: 0,
    api_keys: '',
  });
  const apps = new AppsSettings({ default: app(defaultIos, true), named: app(true, namedAndroid) }, false);
  return new ProviderRegistry(apps, [provider(PLATFORM_IOS, ['notifications[0]: too big']), provider(PLATFORM_ANDROID)]);
}

const dto = (platform: number, app?: string): NotificationDto => ({ token: ['t'], platform, message: 'm', app }) as NotificationDto;

describe('ProviderRegistry', () => {
  it('finds the provider of a platform', () => {
    const r = registry(true, true);
    expect(r.of(PLATFORM_IOS).name).toBe('ios');
    expect(r.of(PLATFORM_ANDROID).name).toBe('android');
  });

  it("names a named app without the platform's credentials, then the provider's problems", () => {
    const r = registry(false, false);
    expect(r.validate(dto(PLATFORM_IOS, 'named'), {}, 'notifications[0]')).toEqual(['notifications[0]: too big']);
    expect(r.validate(dto(PLATFORM_ANDROID, 'named'), {}, 'notifications[2]')).toEqual([
      'notifications[2].platform: app "named" has no Android credentials',
    ]);
    expect(registry(true, true).validate(dto(PLATFORM_ANDROID, 'named'), {}, 'notifications[0]')).toEqual([]);
  });

  it("a platform disabled for the default app skips its notifications instead of refusing them; a named app's missing credentials do not", () => {
    const r = registry(false, false);
    expect(r.disabled(dto(PLATFORM_IOS))).toBe(true);
    expect(r.disabled(dto(PLATFORM_IOS, 'default'))).toBe(true);
    expect(r.validate(dto(PLATFORM_IOS), {}, 'notifications[0]')).toEqual(['notifications[0]: too big']);
    expect(r.disabled(dto(PLATFORM_ANDROID))).toBe(false);
    expect(r.disabled(dto(PLATFORM_ANDROID, 'named'))).toBe(false);
    expect(registry(true, true).disabled(dto(PLATFORM_IOS))).toBe(false);
  });

  it('leaves an unknown app to the caller, which names it', () => {
    expect(registry(true, true).validate(dto(PLATFORM_ANDROID, 'nobody'), {}, 'notifications[0]')).toEqual([]);
  });
});

describe('parsePlatform', () => {
  it('reads a platform by name or number, and nothing else', () => {
    expect(['ios', '1', 'android', '2'].map(parsePlatform)).toEqual([PLATFORM_IOS, PLATFORM_IOS, PLATFORM_ANDROID, PLATFORM_ANDROID]);
    for (const text of ['', '0', '3', '01', '1.0', 'IOS', 'fcm', 'toString', '__proto__']) expect(parsePlatform(text)).toBeUndefined();
  });
});
