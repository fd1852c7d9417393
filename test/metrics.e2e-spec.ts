import { X509Certificate } from 'node:crypto';
import { VERSION } from '../src/version';
import type { Simulator } from '../src/simulator/simulator';
import { android, eventually, ios, pushAccepted, simulatedGatewayForSuite, withSimulatedGateway, type Gateway } from './support/gateway';

type Labels = Record<string, string>;

/** The samples of a Prometheus text scrape: name, labels, value. */
function samples(text: string): { name: string; labels: Labels; value: number }[] {
  const result: { name: string; labels: Labels; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    result.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return result;
}

class Scrape {
  private readonly all: ReturnType<typeof samples>;
  constructor(readonly text: string) {
    this.all = samples(text);
  }
  /** The sample with exactly these labels (among others), or undefined. */
  find(name: string, labels: Labels = {}): number | undefined {
    return this.all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  }
  /** As find, with an absent series read as 0 (a counter that has not moved yet). */
  value(name: string, labels: Labels = {}): number {
    return this.find(name, labels) ?? 0;
  }
  has(name: string): boolean {
    return this.all.some((s) => s.name === name);
  }
}

async function scrape(gw: Gateway): Promise<Scrape> {
  const res = await gw.http.get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(res.text);
}

describe('GET /metrics follows the pushes as they flow', () => {
  let sim: Simulator;
  let gw: Gateway;
  simulatedGatewayForSuite(
    (started) => ({ sim, gw } = started),
    { PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0', PUSHGATE_CORE_QUEUES: '100', PUSHGATE_ANDROID_RETRY_MAX: '1' },
    { simulator: { latencyMs: 300 } },
  );

  it('counts outcomes, reasons and retries, times sends and queue waits, and shows the queue and the sends in flight', async () => {
    const before = await scrape(gw);
    expect(before.value('pushgate_pushes_total', { platform: 'ios', outcome: 'succeeded' })).toBe(0);
    expect(before.find('pushgate_queue_capacity')).toBe(100);
    // Credentials pointed at a simulator are still credentials: the gateway runs its production clients.
    expect(before.find('pushgate_build_info', { version: VERSION, mode: 'providers' })).toBe(1);
    expect(before.find('pushgate_push_concurrency')).toBe(1);
    expect(before.has('pushgate_apns_provider_token_age_seconds')).toBe(false);

    // One send at a time, 300 ms each: the second push waits 0.3 s in the queue, the third 0.6 s.
    await pushAccepted(gw, ios(['metric-token-1', 'metric-token-2', 'metric-token-3']));
    let busy = await scrape(gw);
    await eventually(async () => {
      busy = await scrape(gw);
      return busy.find('pushgate_pushes_in_flight') === 1 && busy.value('pushgate_queue_depth') >= 1;
    });
    expect(busy.find('pushgate_pushes_accepted_total')).toBe(3);

    await eventually(async () => (await scrape(gw)).value('pushgate_pushes_total', { platform: 'ios', outcome: 'succeeded' }) === 3);
    sim.latencyMs = 0;
    await pushAccepted(gw, ios(['sim-BadDeviceToken-metric']), android(['metric-token-4', 'sim-flaky1-UNAVAILABLE-metric']));
    let after = await scrape(gw);
    await eventually(async () => {
      after = await scrape(gw);
      return (
        after.value('pushgate_pushes_total', { platform: 'android', outcome: 'succeeded' }) === 2 &&
        after.value('pushgate_pushes_total', { platform: 'ios', outcome: 'failed' }) === 1
      );
    }, 10_000);

    expect(after.value('pushgate_pushes_total', { platform: 'ios', outcome: 'succeeded' })).toBe(3);
    expect(after.value('pushgate_pushes_total', { platform: 'ios', outcome: 'failed', reason: 'BadDeviceToken' })).toBe(1);
    expect(after.value('pushgate_pushes_total', { platform: 'android', outcome: 'failed' })).toBe(0);
    expect(after.value('pushgate_push_retries_total', { platform: 'android', reason: 'UNAVAILABLE' })).toBe(1);
    expect(after.value('pushgate_push_retries_total', { platform: 'ios' })).toBe(0);
    expect(after.find('pushgate_pushes_accepted_total')).toBe(6);

    expect(after.find('pushgate_push_send_duration_seconds_count', { platform: 'ios' })).toBe(4);
    expect(after.find('pushgate_push_send_duration_seconds_count', { platform: 'android' })).toBe(2);
    expect(after.find('pushgate_push_send_duration_seconds_sum', { platform: 'ios' })).toBeGreaterThanOrEqual(0.85);
    expect(after.find('pushgate_push_send_duration_seconds_bucket', { platform: 'ios', le: '0.25' })).toBe(1);
    expect(after.find('pushgate_push_queue_dwell_seconds_count', { platform: 'ios' })).toBe(4);
    expect(after.find('pushgate_push_queue_dwell_seconds_sum', { platform: 'ios' })).toBeGreaterThanOrEqual(0.85);
    // The retried push waited for its backoff before the attempt that succeeded.
    expect(after.find('pushgate_push_queue_dwell_seconds_sum', { platform: 'android' })).toBeGreaterThan(0.1);

    expect(after.find('pushgate_pushes_in_flight')).toBe(0);
    expect(after.find('pushgate_queue_depth')).toBe(0);
    expect(after.find('pushgate_pushes_waiting_retry')).toBe(0);
    const tokenAge = after.find('pushgate_apns_provider_token_age_seconds');
    expect(tokenAge).toBeGreaterThanOrEqual(0);
    expect(tokenAge).toBeLessThan(60);
    expect(after.has('pushgate_apns_certificate_days_left')).toBe(false);

    expect(after.has('process_cpu_user_seconds_total')).toBe(true);
    expect(after.has('nodejs_heap_size_used_bytes')).toBe(true);
    expect(after.text).not.toMatch(/metric-token|sim-BadDeviceToken|sim-flaky1/);
  });

  it('times every answered POST /push by status code, refusals included, and nothing else', async () => {
    const before = await scrape(gw);
    await pushAccepted(gw, ios(['timed-token']));
    await gw.http
      .post('/push?wait=false')
      .send({ notifications: [ios(['timed-token-2'])] })
      .expect(200);
    await gw.http.post('/push').set('content-type', 'application/json').send('{"notifications": [').expect(400);
    await gw.http
      .post('/push')
      .send({ notifications: [{ token: ['x'], platform: 3, message: 'm' }] })
      .expect(400);
    await gw.http.get('/stat/app').expect(200);
    const after = await scrape(gw);
    const count = (code: string) =>
      after.value('pushgate_push_request_duration_seconds_count', { code }) -
      before.value('pushgate_push_request_duration_seconds_count', { code });
    expect(count('200')).toBe(2);
    expect(count('400')).toBe(2);
    // Every bucket up to +Inf holds the requests answered within it; a local answer takes well under 10 s.
    expect(after.find('pushgate_push_request_duration_seconds_bucket', { code: '400', le: '10' })).toBe(
      after.value('pushgate_push_request_duration_seconds_count', { code: '400' }),
    );
    expect(after.find('pushgate_push_request_duration_seconds_bucket', { code: '200', le: '+Inf' })).toBe(
      after.value('pushgate_push_request_duration_seconds_count', { code: '200' }),
    );
    expect(after.value('pushgate_push_request_duration_seconds_sum', { code: '200' })).toBeGreaterThan(
      before.value('pushgate_push_request_duration_seconds_sum', { code: '200' }),
    );
    expect(after.text).toMatch(/pushgate_push_request_duration_seconds_bucket\{le="0\.02",code="200"\}/);
    expect(after.text).not.toMatch(/pushgate_push_request_duration_seconds_count\{code="(?!200|400)/);
  });
});

describe('GET /metrics with APNs certificate authentication', () => {
  it('reports the days left on the client certificate and no provider-token age', async () => {
    await withSimulatedGateway(
      {},
      async ({ sim, gw }) => {
        await pushAccepted(gw, ios(['cert-token']));
        await sim.waitFor(1, 5000);
        const s = await scrape(gw);
        const expected = (new X509Certificate(sim.credentials.apns.certPem).validToDate.getTime() - Date.now()) / 86_400_000;
        expect(expected).toBeGreaterThan(365);
        expect(s.find('pushgate_apns_certificate_days_left')).toBeCloseTo(expected, 2);
        expect(s.has('pushgate_apns_provider_token_age_seconds')).toBe(false);
      },
      { auth: 'certificate' },
    );
  });
});
