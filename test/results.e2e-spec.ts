import { PushResults } from '../src/push/push.results';
import { Simulator } from '../src/simulator/simulator';
import { android, eventually, ios, startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

const REQUEST_ID = /^[A-Za-z0-9_-]{8}-r[0-9a-z]+$/;

describe('per-request ids and results', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), {
    PUSHGATE_IOS_RETRY_MAX: '1',
    PUSHGATE_ANDROID_RETRY_MAX: '0',
    PUSHGATE_IOS_TIMEOUT: '2',
  });

  it('answers Gaurun\'s {"message":"ok"} with the count and a request id, different for every request', async () => {
    const a = await gw.http
      .post('/push')
      .send({ notifications: [ios(['id-a1', 'id-a2'])] })
      .expect(200);
    const b = await gw.http
      .post('/push')
      .send({ notifications: [android(['id-b1'])] })
      .expect(200);
    expect(a.body).toEqual({ message: 'ok', count: 2, request_id: expect.stringMatching(REQUEST_ID) });
    expect(b.body).toEqual({ message: 'ok', count: 1, request_id: expect.stringMatching(REQUEST_ID) });
    expect(a.body.request_id).not.toBe(b.body.request_id);
  });

  it('GET /push/{id} counts queued, succeeded and failed by reason, pending until every push has ended', async () => {
    sim.latencyMs = 300;
    try {
      const res = await gw.http
        .post('/push')
        .send({ notifications: [ios(['count-ok-1', 'sim-BadDeviceToken-c', 'count-ok-2']), android(['sim-UNREGISTERED-c', 'count-ok-3'])] })
        .expect(200);
      const id = res.body.request_id as string;
      const early = await gw.http.get(`/push/${id}`).expect(200);
      expect(early.body).toEqual(expect.objectContaining({ request_id: id, queued: 5, pending: 5, succeeded: 0, done: false }));
      await eventually(async () => (await gw.http.get(`/push/${id}`)).body.done === true, 10_000);
      const done = await gw.http.get(`/push/${id}`).expect(200);
      expect(done.body).toEqual({
        request_id: id,
        accepted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        queued: 5,
        succeeded: 3,
        failed: { BadDeviceToken: 1, UNREGISTERED: 1 },
        pending: 0,
        done: true,
      });
    } finally {
      sim.latencyMs = 0;
    }
  });

  it('answers 404 for an id it never issued', async () => {
    const res = await gw.http.get('/push/nope-r0').expect(404);
    expect(res.body.message).toMatch(/unknown request id/);
  });

  it("?wait=true lists every token's result in request order, successes included, after retries", async () => {
    const res = await gw.http
      .post('/push?wait=true&timeout=10')
      .send({
        notifications: [
          ios(['wait-ok-1', 'sim-BadDeviceToken-w', 'sim-flaky1-ServiceUnavailable-w']),
          android(['wait-ok-2', 'sim-UNREGISTERED-w']),
        ],
      })
      .expect(200);
    expect(res.body).toEqual({
      message: 'ok',
      count: 5,
      request_id: expect.stringMatching(REQUEST_ID),
      results: [
        { token: 'wait-ok-1', platform: 'ios', status: 'succeeded', reason: null },
        { token: 'sim-BadDeviceToken-w', platform: 'ios', status: 'failed', reason: 'BadDeviceToken' },
        { token: 'sim-flaky1-ServiceUnavailable-w', platform: 'ios', status: 'succeeded', reason: null },
        { token: 'wait-ok-2', platform: 'android', status: 'succeeded', reason: null },
        { token: 'sim-UNREGISTERED-w', platform: 'android', status: 'failed', reason: 'UNREGISTERED' },
      ],
    });
    expect(sim.records().filter((r) => r.token === 'sim-flaky1-ServiceUnavailable-w')).toHaveLength(2);
  });

  it('a wait that times out answers with what is known and the rest pending; the counts catch up later', async () => {
    const started = Date.now();
    const res = await gw.http
      .post('/push?wait=1&timeout=1')
      .send({ notifications: [ios(['late-ok', 'sim-hang-late'])] })
      .expect(200);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(1900);
    expect(res.body.results).toEqual([
      { token: 'late-ok', platform: 'ios', status: 'succeeded', reason: null },
      { token: 'sim-hang-late', platform: 'ios', status: 'pending', reason: null },
    ]);
    const id = res.body.request_id as string;
    // ios.timeout 2 s, one retry: the hanging push fails with Timeout about 4 s after acceptance.
    await eventually(async () => (await gw.http.get(`/push/${id}`)).body.done === true, 10_000);
    expect((await gw.http.get(`/push/${id}`)).body).toEqual(expect.objectContaining({ succeeded: 1, failed: { Timeout: 1 }, pending: 0 }));
  });

  it('rejects a malformed wait or timeout with 400 and queues nothing', async () => {
    const before = (await gw.http.get('/stat/app')).body.accepted as number;
    const bad = [
      ['/push?wait=maybe', /^wait: /],
      ['/push?wait=true&timeout=61', /^timeout: /],
      ['/push?wait=true&timeout=0', /^timeout: /],
      ['/push?wait=true&timeout=1.5', /^timeout: /],
    ] as const;
    for (const [path, message] of bad) {
      const res = await gw.http
        .post(path)
        .send({ notifications: [ios(['never'])] })
        .expect(400);
      expect(res.body.message).toMatch(message);
    }
    expect((await gw.http.get('/stat/app')).body.accepted).toBe(before);
    expect(sim.records().some((r) => r.token === 'never')).toBe(false);
  });
});

describe('per-request results when the queue refuses a request', () => {
  it('a refused request (503) leaves no id behind and a waiting one is not kept waiting', async () => {
    const sim = await Simulator.start({ latencyMs: 300 });
    const gw = await startGateway(sim, { PUSHGATE_CORE_QUEUES: '3', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    try {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['f1', 'f2', 'f3'])] })
        .expect(200);
      const started = Date.now();
      const refused = await gw.http
        .post('/push?wait=true&timeout=30')
        .send({ notifications: [ios(['r1', 'r2'])] })
        .expect(503);
      expect(Date.now() - started).toBeLessThan(1000);
      // The refusal names its request id for correlation, but nothing is tracked under it.
      expect(refused.body.request_id).toEqual(expect.any(String));
      expect(gw.app.get(PushResults).size).toBe(1);
      await gw.http.get(`/push/${refused.body.request_id as string}`).expect(404);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
