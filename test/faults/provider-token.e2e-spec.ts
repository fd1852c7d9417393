import { MIN_TOKEN_REFRESH_MS } from '../../src/apns/apns.client';
import { Simulator } from '../../src/simulator/simulator';
import { ios, startGateway, type Gateway, pushAccepted } from '../support/gateway';
import { nothingLost, trackCrashes } from './faults';

const crashes = trackCrashes();
const MINUTE = 60_000;

/** Only `Date` is faked: sockets, deadlines and backoff keep real time, the JWT clocks of gateway and simulator jump. */
function fakeClock(): { at(minutes: number): void } {
  const start = Date.now();
  jest.useFakeTimers({
    now: start,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  return { at: (minutes) => jest.setSystemTime(start + minutes * MINUTE) };
}

function iatOf(authorization: string | undefined): number {
  const claims = authorization!.split(' ')[1].split('.')[1];
  return (JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as { iat: number }).iat;
}

describe('APNs provider token (fake clock)', () => {
  let sim: Simulator;
  let gw: Gateway;
  let clock: { at(minutes: number): void };
  let n = 0;

  async function pushAt(minutes: number): Promise<void> {
    clock.at(minutes);
    await pushAccepted(gw, ios([`t${n++}`]));
    await nothingLost(gw);
  }

  beforeEach(async () => {
    clock = fakeClock();
    sim = await Simulator.start();
    gw = await startGateway(sim, { PUSHGATE_ANDROID_ENABLED: 'false', PUSHGATE_IOS_RETRY_MAX: '1' });
  });
  afterEach(async () => {
    await gw.close();
    await sim.close();
    jest.useRealTimers();
    expect(crashes.errors).toEqual([]);
  });

  it('is minted at most once per 20 minutes and is never older than 60 minutes', async () => {
    sim.setProviderTokenRules({ minRefreshSeconds: MIN_TOKEN_REFRESH_MS / 1000 });
    for (let minutes = 0; minutes <= 180; minutes += 5) await pushAt(minutes);
    const records = sim.records();
    expect(records.length).toBe(37);
    expect(records.every((r) => r.status === 200)).toBe(true);
    for (const r of records) expect(Math.floor(r.at / 1000) - iatOf(r.headers.authorization)).toBeLessThanOrEqual(3600);
    const minted = [...new Set(records.map((r) => iatOf(r.headers.authorization)))].sort((a, b) => a - b);
    expect(minted.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < minted.length; i++) expect(minted[i] - minted[i - 1]).toBeGreaterThanOrEqual(20 * 60);
  });

  it('ExpiredProviderToken: one retry with a fresh JWT', async () => {
    sim.setProviderTokenRules({ maxAgeSeconds: 30 * 60 });
    await pushAt(0);
    await pushAt(31);
    const [first, expired, retried] = sim.records();
    expect(expired.reason).toBe('ExpiredProviderToken');
    expect(iatOf(expired.headers.authorization)).toBe(iatOf(first.headers.authorization));
    expect(retried.status).toBe(200);
    expect(retried.token).toBe(expired.token);
    expect(iatOf(retried.headers.authorization) - iatOf(first.headers.authorization)).toBeGreaterThanOrEqual(31 * 60);
    const s = await nothingLost(gw);
    expect(s.ios).toEqual(expect.objectContaining({ push_success: 2, push_error: 0, retries: 1 }));
  });

  it('TooManyProviderTokenUpdates: no new JWT sooner than Apple allows, even after ExpiredProviderToken', async () => {
    sim.setProviderTokenRules({ maxAgeSeconds: 10 * 60, minRefreshSeconds: 20 * 60 });
    await pushAt(0);
    await pushAt(11);
    expect(sim.counts().apns.errors).toEqual({ ExpiredProviderToken: 2 });
    expect(new Set(sim.records().map((r) => iatOf(r.headers.authorization))).size).toBe(1);
    await pushAt(21);
    expect(sim.counts().apns.errors.TooManyProviderTokenUpdates).toBeUndefined();
    expect(sim.records().at(-1)!.status).toBe(200);
    const s = await nothingLost(gw);
    expect(s.ios).toEqual(expect.objectContaining({ push_success: 2, push_error: 1, errors: { ExpiredProviderToken: 1 } }));
  });
});
