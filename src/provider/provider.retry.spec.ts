import { AppsSettings, CONFIG_DEFAULTS, type AppConfig } from '../config/pushgate.config';
import { PLATFORM_ANDROID, PLATFORM_IOS } from '../notification/notification.dto';
import { SENT, type SendResult } from './provider.result';
import { SendRetryPolicy } from './provider.retry';

function policy(iosRetryMax: number, androidRetryMax: number, named?: AppConfig): SendRetryPolicy {
  const ios = { ...CONFIG_DEFAULTS.ios, retry_max: iosRetryMax };
  const android = { ...CONFIG_DEFAULTS.android, retry_max: androidRetryMax };
  const apps: Record<string, AppConfig> = { default: { ios, android, in_flight_max: 0, api_keys: '' } };
  if (named) apps.named = named;
  return new SendRetryPolicy(new AppsSettings(apps, false), ios, android);
}

const UNAVAILABLE: SendResult = { ok: false, reason: 'UNAVAILABLE', retryable: true };
const UNREGISTERED: SendResult = { ok: false, reason: 'UNREGISTERED', retryable: false };

describe('SendRetryPolicy', () => {
  it('retries a retryable failure up to retry_max of the app and platform, never a permanent one or a success', () => {
    const p = policy(1, 3);
    expect(p.next(PLATFORM_ANDROID, 'default', UNAVAILABLE, 2)).toBeDefined();
    expect(p.next(PLATFORM_ANDROID, 'default', UNAVAILABLE, 3)).toBeUndefined();
    expect(p.next(PLATFORM_IOS, 'default', UNAVAILABLE, 0)).toBeDefined();
    expect(p.next(PLATFORM_IOS, 'default', UNAVAILABLE, 1)).toBeUndefined();
    expect(p.next(PLATFORM_ANDROID, 'default', UNREGISTERED, 0)).toBeUndefined();
    expect(p.next(PLATFORM_ANDROID, 'default', SENT, 0)).toBeUndefined();
  });

  it("reads a named app's own retry_max, and the top-level one for an app it does not know", () => {
    const named: AppConfig = {
      ios: { ...CONFIG_DEFAULTS.ios, retry_max: 0 },
      android: { ...CONFIG_DEFAULTS.android, retry_max: 5 },
      in_flight_max: 0,
      api_keys: '',
    };
    const p = policy(2, 1, named);
    expect(p.retryMax(PLATFORM_ANDROID, 'named')).toBe(5);
    expect(p.retryMax(PLATFORM_IOS, 'named')).toBe(0);
    expect(p.retryMax(PLATFORM_ANDROID, 'unknown')).toBe(1);
  });

  it('waits half to all of an exponential step from 200 ms, with half jitter', () => {
    const p = policy(10, 10);
    for (let i = 0; i < 50; i++) {
      const first = p.next(PLATFORM_IOS, 'default', UNAVAILABLE, 0)!;
      expect(first.duration).toBeGreaterThanOrEqual(100);
      expect(first.duration).toBeLessThanOrEqual(200);
      const second = p.next(PLATFORM_IOS, 'default', UNAVAILABLE, 1, first)!;
      expect(second.duration).toBeGreaterThanOrEqual(200);
      expect(second.duration).toBeLessThanOrEqual(400);
    }
  });

  it("waits at least the provider's Retry-After", () => {
    const p = policy(10, 10);
    const asked = p.next(PLATFORM_ANDROID, 'default', { ...UNAVAILABLE, retryAfterMs: 5000 }, 0)!;
    expect(asked.duration).toBe(5000);
    const after = p.next(PLATFORM_ANDROID, 'default', UNAVAILABLE, 1, asked)!;
    expect(after.duration).toBeLessThanOrEqual(400);
  });

  it('runs a direct send again while it fails retryably, retry_max times at most', async () => {
    const p = policy(0, 2);
    const results: SendResult[] = [UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, SENT];
    let calls = 0;
    const send = (): Promise<SendResult> => Promise.resolve(results[calls++]);
    expect(await p.execute(PLATFORM_ANDROID, 'default', send)).toEqual(UNAVAILABLE);
    expect(calls).toBe(3);

    calls = 0;
    const permanent = [UNREGISTERED, SENT];
    expect(await p.execute(PLATFORM_ANDROID, 'default', () => Promise.resolve(permanent[calls++]))).toEqual(UNREGISTERED);
    expect(calls).toBe(1);

    calls = 0;
    const recovering = [UNAVAILABLE, SENT];
    expect(await p.execute(PLATFORM_ANDROID, 'default', () => Promise.resolve(recovering[calls++]))).toEqual(SENT);
    expect(calls).toBe(2);
  });
});
