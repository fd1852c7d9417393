import { Simulator } from '../../src/simulator/simulator';
import { android, type Gateway, pushAccepted } from '../support/gateway';
import { waitFor } from '../support/wait';
import { nothingLost, stats, tokens, trackCrashes, withGateway as withFreshGateway } from './faults';

const crashes = trackCrashes();

/** A gateway delivering to Android only. */
function withGateway(
  env: Record<string, string>,
  run: (sim: Simulator, gw: Gateway) => Promise<void>,
  before?: (sim: Simulator) => void,
): Promise<void> {
  return withFreshGateway(crashes, { PUSHGATE_IOS_ENABLED: 'false', ...env }, run, { before });
}

describe('FCM faults: nothing is lost', () => {
  it('UNAVAILABLE, then success', async () => {
    await withGateway({ PUSHGATE_ANDROID_RETRY_MAX: '2' }, async (sim, gw) => {
      sim.failNext('fcm', 'UNAVAILABLE', 10);
      await pushAccepted(gw, android(tokens('unavailable', 10)));
      const s = await nothingLost(gw);
      expect(s.android).toEqual(expect.objectContaining({ push_success: 10, push_error: 0, retries: 10 }));
      expect(sim.counts().fcm.errors).toEqual({ UNAVAILABLE: 10 });
    });
  });

  it('QUOTA_EXCEEDED with Retry-After: nothing is sent to the project before it expires', async () => {
    await withGateway({ PUSHGATE_ANDROID_RETRY_MAX: '2' }, async (sim, gw) => {
      await pushAccepted(gw, android(['warm-up']));
      await nothingLost(gw);
      sim.quota(2);
      const opened = Date.now();
      const quotaUntil = sim.faults().quotaUntil;
      await pushAccepted(gw, android(['first']));
      await waitFor(async () => sim.counts().fcm.errors.QUOTA_EXCEEDED === 1 && (await stats(gw)).retrying === 1, {
        what: 'the first push held by QUOTA_EXCEEDED',
      });
      // Pushes accepted while the project is held wait; they do not spend their retries.
      await pushAccepted(gw, android(tokens('held', 20)));
      const s = await nothingLost(gw);
      expect(s.android).toEqual(expect.objectContaining({ push_success: 22, push_error: 0 }));
      // Only the push that met the quota reached FCM while it lasted.
      const during = sim.records().filter((r) => r.at >= opened && r.at < quotaUntil);
      expect(during.map((r) => r.token)).toEqual(['first']);
      expect(sim.counts().fcm.errors).toEqual({ QUOTA_EXCEEDED: 1 });
    });
  });

  it('an INTERNAL storm: every push ends, retried ones succeed once it passes', async () => {
    await withGateway({ PUSHGATE_ANDROID_RETRY_MAX: '3' }, async (sim, gw) => {
      sim.failNext('fcm', 'INTERNAL', 150);
      await pushAccepted(gw, android(tokens('storm', 100)));
      const s = await nothingLost(gw);
      expect(s.android.push_success + s.android.push_error).toBe(100);
      expect(s.android.push_success).toBeGreaterThan(0);
      expect(Object.keys(s.android.errors).filter((k) => k !== 'INTERNAL')).toEqual([]);
      expect(sim.counts().fcm.errors.INTERNAL).toBe(150);
    });
  });

  it('the OAuth token endpoint failing: sends wait and retry, then succeed once it recovers', async () => {
    await withGateway(
      { PUSHGATE_ANDROID_RETRY_MAX: '5', PUSHGATE_ANDROID_TIMEOUT: '1' },
      async (sim, gw) => {
        await pushAccepted(gw, android(tokens('oauth', 5)));
        // Each push waits at most android.timeout for a token, then is retried.
        await waitFor(async () => (await stats(gw)).android.retries > 0, { timeoutMs: 10_000, what: 'a retry while no token is issued' });
        expect((await stats(gw)).android.push_success).toBe(0);
        expect(sim.counts().fcm.total).toBe(0);
        sim.failOAuth(0);
        const s = await nothingLost(gw, 30_000);
        expect(s.android.push_success).toBe(5);
      },
      (sim) => sim.failOAuth(500),
    );
  });

  it('a response slower than the deadline times out and is retried; a permanently slow one fails with Timeout', async () => {
    await withGateway({ PUSHGATE_ANDROID_RETRY_MAX: '1', PUSHGATE_ANDROID_TIMEOUT: '1' }, async (sim, gw) => {
      sim.latencyMs = 1500;
      await pushAccepted(gw, android(tokens('slow', 5)));
      // Every first attempt missed its deadline; their retries wait at least 100 ms (half-jitter backoff).
      await waitFor(async () => (await stats(gw)).android.retries === 5, { timeoutMs: 5000, intervalMs: 5, what: 'five retries' });
      sim.latencyMs = 0;
      await pushAccepted(gw, android(['sim-slow3000-x']));
      const s = await nothingLost(gw);
      expect(s.android).toEqual(expect.objectContaining({ push_success: 5, push_error: 1, retries: 6, errors: { Timeout: 1 } }));
    });
  });
});
