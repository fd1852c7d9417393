import { LogService } from '../src/log/log.service';
import { Simulator } from '../src/simulator/simulator';
import { android, eventually, ios, readLog, startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

interface Stats {
  accepted: number;
  queue_usage: number;
  pusher_count: number;
  retrying: number;
  ios: { push_success: number; push_error: number; push_disabled: number; retries: number; errors: Record<string, number> };
  android: { push_success: number; push_error: number; push_disabled: number; retries: number; errors: Record<string, number> };
}

async function stats(gw: Gateway): Promise<Stats> {
  return (await gw.http.get('/stat/app').expect(200)).body as Stats;
}

async function settled(gw: Gateway, total: number): Promise<Stats> {
  let s = await stats(gw);
  await eventually(async () => {
    s = await stats(gw);
    return s.ios.push_success + s.ios.push_error + s.android.push_success + s.android.push_error >= total;
  }, 15_000);
  return s;
}

function attempts(sim: Simulator, token: string): number {
  return sim.records().filter((r) => r.token === token).length;
}

describe('delivery outcomes: retries, permanent errors, deadlines, counters and logs', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), {
    PUSHGATE_IOS_RETRY_MAX: '2',
    PUSHGATE_ANDROID_RETRY_MAX: '2',
    PUSHGATE_IOS_TIMEOUT: '1',
    PUSHGATE_ANDROID_TIMEOUT: '1',
  });

  it('retries retryable errors and then succeeds; never retries permanent ones; counts every outcome by reason', async () => {
    await gw.http
      .post('/push')
      .send({
        notifications: [
          ios([
            'ok-ios',
            'sim-flaky1-ServiceUnavailable-a',
            'sim-flaky2-TooManyRequests-b',
            'sim-BadDeviceToken-c',
            'sim-Unregistered-d',
            'sim-InternalServerError-e',
          ]),
          android([
            'ok-android',
            'sim-flaky1-UNAVAILABLE-f',
            'sim-flaky1-QUOTA_EXCEEDED-g',
            'sim-UNREGISTERED-h',
            'sim-INVALID_ARGUMENT-i',
            'sim-SENDER_ID_MISMATCH-j',
          ]),
        ],
      })
      .expect(200)
      .expect((res) => expect(res.body).toEqual({ message: 'ok', count: 12, request_id: expect.any(String) }));
    const s = await settled(gw, 12);

    expect(attempts(sim, 'ok-ios')).toBe(1);
    expect(attempts(sim, 'sim-flaky1-ServiceUnavailable-a')).toBe(2);
    expect(attempts(sim, 'sim-flaky2-TooManyRequests-b')).toBe(3);
    expect(attempts(sim, 'sim-BadDeviceToken-c')).toBe(1);
    expect(attempts(sim, 'sim-Unregistered-d')).toBe(1);
    expect(attempts(sim, 'sim-InternalServerError-e')).toBe(3);
    expect(attempts(sim, 'sim-flaky1-UNAVAILABLE-f')).toBe(2);
    expect(attempts(sim, 'sim-flaky1-QUOTA_EXCEEDED-g')).toBe(2);
    expect(attempts(sim, 'sim-UNREGISTERED-h')).toBe(1);
    expect(attempts(sim, 'sim-INVALID_ARGUMENT-i')).toBe(1);
    expect(attempts(sim, 'sim-SENDER_ID_MISMATCH-j')).toBe(1);

    expect(s.accepted).toBe(12);
    expect(s.ios).toEqual({
      push_success: 3,
      push_error: 3,
      push_disabled: 0,
      retries: 1 + 2 + 2,
      errors: { BadDeviceToken: 1, Unregistered: 1, InternalServerError: 1 },
    });
    expect(s.android).toEqual({
      push_success: 3,
      push_error: 3,
      push_disabled: 0,
      retries: 2,
      errors: { UNREGISTERED: 1, INVALID_ARGUMENT: 1, SENDER_ID_MISMATCH: 1 },
    });
  });

  it('every APNs attempt of a push carries the same apns-id, a UUID distinct from other pushes', async () => {
    sim.reset();
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['sim-flaky1-ServiceUnavailable-id', 'plain-id'])] })
      .expect(200);
    await eventually(() => attempts(sim, 'sim-flaky1-ServiceUnavailable-id') === 2 && attempts(sim, 'plain-id') === 1, 10_000);
    const [first, second] = sim.records().filter((r) => r.token === 'sim-flaky1-ServiceUnavailable-id');
    const other = sim.records().find((r) => r.token === 'plain-id')!;
    expect(first.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.headers['apns-id']).toBe(first.headers['apns-id']);
    expect(other.headers['apns-id']).not.toBe(first.headers['apns-id']);
  });

  it('QUOTA_EXCEEDED waits at least the Retry-After the provider gave', async () => {
    sim.reset();
    await gw.http
      .post('/push')
      .send({ notifications: [android(['sim-flaky1-QUOTA_EXCEEDED-wait'])] })
      .expect(200);
    await eventually(() => attempts(sim, 'sim-flaky1-QUOTA_EXCEEDED-wait') === 2, 10_000);
    const [first, second] = sim.records().filter((r) => r.token === 'sim-flaky1-QUOTA_EXCEEDED-wait');
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('a provider that never answers hits the deadline, is retried, then fails with Timeout', async () => {
    sim.reset();
    const before = await stats(gw);
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['sim-hang-x']), android(['sim-hang-y'])] })
      .expect(200);
    await eventually(async () => {
      const s = await stats(gw);
      return s.ios.push_error === before.ios.push_error + 1 && s.android.push_error === before.android.push_error + 1;
    }, 15_000);
    const s = await stats(gw);
    expect(s.ios.errors.Timeout).toBe(1);
    expect(s.android.errors.Timeout).toBe(1);
    expect(attempts(sim, 'sim-hang-x')).toBe(3);
    expect(attempts(sim, 'sim-hang-y')).toBe(3);
  });

  it('writes accepted-push then succeeded-push or failed-push per push, with masked tokens and unique ids', () => {
    gw.app.get(LogService).flush();
    const log = readLog(gw.accessLog);
    const pushes = log.filter((l) => typeof l.type === 'string' && l.type.endsWith('-push'));
    const accepted = pushes.filter((l) => l.type === 'accepted-push');
    const ended = pushes.filter((l) => l.type === 'succeeded-push' || l.type === 'failed-push');
    expect(accepted.length).toBe(17);
    expect(new Set(accepted.map((l) => l.id)).size).toBe(17);
    expect(new Set(ended.map((l) => l.id))).toEqual(new Set(accepted.map((l) => l.id)));
    const failed = ended.find((l) => l.type === 'failed-push' && l.error === 'BadDeviceToken');
    expect(failed).toEqual(expect.objectContaining({ platform: 'ios', message: 'hello', token: 'sim-BadD...en-c' }));
    expect(typeof failed!.ptime).toBe('number');
    for (const line of pushes) expect(JSON.stringify(line)).not.toContain('ok-android');
  });
});

describe('admission is all or nothing', () => {
  it('answers 503 with Retry-After and queues none of a request that does not fit', async () => {
    const sim = await Simulator.start({ latencyMs: 400 });
    const gw = await startGateway(sim, { PUSHGATE_CORE_QUEUES: '5', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    try {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['q1', 'q2', 'q3', 'q4'])] })
        .expect(200);
      expect((await stats(gw)).queue_usage).toBe(3);
      const res = await gw.http
        .post('/push')
        .send({ notifications: [ios(['r1']), android(['r2', 'r3'])] })
        .expect(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.message).toMatch(/queue is full/);
      expect((await stats(gw)).queue_usage).toBe(3);
      expect((await stats(gw)).accepted).toBe(4);
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['s1']), android(['s2'])] })
        .expect(200);
      const s = await settled(gw, 6);
      expect(s.accepted).toBe(6);
      expect(
        sim
          .records()
          .map((r) => r.token)
          .sort(),
      ).toEqual(['q1', 'q2', 'q3', 'q4', 's1', 's2']);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});

describe('health', () => {
  it('liveness and readiness on separate paths; readiness reflects the queue high-water mark', async () => {
    const sim = await Simulator.start({ latencyMs: 500 });
    const gw = await startGateway(sim, { PUSHGATE_CORE_QUEUES: '10', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    try {
      await gw.http.get('/health/live').expect(200);
      const ready = await gw.http.get('/health/ready').expect(200);
      expect(ready.body.details).toEqual(
        expect.objectContaining({
          queue: expect.objectContaining({ status: 'up' }),
          apns: expect.objectContaining({ status: 'up', auth: 'token' }),
          fcm: expect.objectContaining({ status: 'up' }),
        }),
      );
      await gw.http
        .post('/push')
        .send({ notifications: [ios(Array.from({ length: 10 }, (_, i) => `h${i}`))] })
        .expect(200);
      const busy = await gw.http.get('/health/ready').expect(503);
      expect(busy.body.error.queue.reason).toBe('queue above high-water mark');
      await gw.http.get('/health/live').expect(200);
      await gw.http
        .get('/stat/runtime')
        .expect(200)
        .expect((res) => expect(res.body.memory.rss).toBeGreaterThan(0));
      await gw.http.get('/stat/go').expect(200);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
