import { Simulator } from '../../src/simulator/simulator';
import { MemoryBudget } from '../../src/push/memory-budget';
import { android, eventually, ios, readLog, startGateway, withSimulatedGateway, type Gateway } from '../support/gateway';
import { queueKeys } from '../../src/redis/redis.keys';
import { haveRedisServer, RedisServer } from './support';

interface DeadLetterPage {
  dead_letters: { dead_id: string; id: string; token: string; reason: string; platform: number }[];
  next?: string;
}

function delivered(sim: Simulator, tokens: string[]): string[] {
  const ok = new Set(
    sim
      .records()
      .filter((r) => r.status === 200)
      .map((r) => r.token),
  );
  return tokens.filter((t) => !ok.has(t));
}

(haveRedisServer() ? describe : describe.skip)('queue on Redis (in-process gateway, real redis-server)', () => {
  let redis: RedisServer;
  let sim: Simulator;
  let gw: Gateway | undefined;
  let prefix = 0;

  const start = (env: Record<string, string> = {}): Promise<Gateway> =>
    startGateway(sim, {
      PUSHGATE_QUEUE_BACKEND: 'redis',
      PUSHGATE_QUEUE_REDIS_URL: redis.url,
      PUSHGATE_QUEUE_REDIS_PREFIX: `t${prefix++}`,
      PUSHGATE_QUEUE_CLAIM_IDLE: '2',
      PUSHGATE_AUTH_ANONYMOUS_ADMIN: 'true',
      ...env,
    });

  beforeAll(async () => {
    redis = await RedisServer.start({ password: 's3cret:/@' });
    sim = await Simulator.start({ recordLimit: 100_000 });
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    sim.latencyMs = 0;
    sim.reset();
  });
  afterAll(async () => {
    await sim.close();
    await redis.close();
  });

  it('keeps failed pushes as dead letters with their reason, lists them masked and replays chosen ones', async () => {
    gw = await start({ PUSHGATE_IOS_RETRY_MAX: '0', PUSHGATE_ANDROID_RETRY_MAX: '0' });
    const flaky = 'sim-flaky1-InternalServerError-dl2';
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['sim-BadDeviceToken-dl1', flaky, 'ok-dl3']), android(['sim-UNREGISTERED-dl4'])] })
      .expect(200);
    let page: DeadLetterPage = { dead_letters: [] };
    await eventually(async () => {
      page = (await gw!.http.get('/queue/dead-letters').expect(200)).body as DeadLetterPage;
      return page.dead_letters.length === 3;
    }, 10_000);
    expect(page.dead_letters.map((d) => [d.reason, d.platform]).sort()).toEqual([
      ['BadDeviceToken', 1],
      ['InternalServerError', 1],
      ['UNREGISTERED', 2],
    ]);
    expect(JSON.stringify(page)).not.toContain(flaky);
    const chosen = page.dead_letters.find((d) => d.reason === 'InternalServerError')!;

    const paged = (await gw.http.get('/queue/dead-letters?count=2').expect(200)).body as DeadLetterPage;
    expect(paged.dead_letters).toHaveLength(2);
    const rest = (await gw.http.get(`/queue/dead-letters?count=2&after=${paged.next}`).expect(200)).body as DeadLetterPage;
    expect([...paged.dead_letters, ...rest.dead_letters].map((d) => d.dead_id)).toEqual(page.dead_letters.map((d) => d.dead_id));

    const replay = await gw.http
      .post('/queue/dead-letters/replay')
      .send({ ids: [chosen.dead_id, '1-1'] })
      .expect(200);
    expect(replay.body).toMatchObject({ count: 1, replayed: [chosen.dead_id], missing: ['1-1'] });
    await eventually(() => delivered(sim, [flaky]).length === 0, 10_000);
    const left = (await gw.http.get('/queue/dead-letters').expect(200)).body as DeadLetterPage;
    expect(left.dead_letters.map((d) => d.reason).sort()).toEqual(['BadDeviceToken', 'UNREGISTERED']);
    await gw.http
      .post('/queue/dead-letters/replay')
      .send({ ids: [chosen.dead_id] })
      .expect(200, { message: 'ok', count: 0, replayed: [], missing: [chosen.dead_id] });
    await gw.http
      .post('/queue/dead-letters/replay')
      .send({ ids: ['nope'] })
      .expect(400);

    // The access log is written in batches: wait for the replayed push's lines rather than read it once.
    let log: Record<string, unknown>[] = [];
    await eventually(
      () => (log = readLog(gw!.accessLog)).some((l) => l.type === 'succeeded-push' && l.id === `${chosen.id}-r0`),
      5000,
    ).catch(() => undefined);
    expect(log).toContainEqual(expect.objectContaining({ type: 'accepted-push', id: `${chosen.id}-r0`, replay_of: chosen.id }));
    expect(log).toContainEqual(expect.objectContaining({ type: 'succeeded-push', id: `${chosen.id}-r0` }));
    expect((await gw.http.get('/stat/app').expect(200)).body).toMatchObject({ queue_usage: 0 });
  });

  it('names each dead letter in exactly one of concurrent replays, which journal and send it once', async () => {
    gw = await start({ PUSHGATE_IOS_RETRY_MAX: '0' });
    const tokens = [1, 2, 3].map((i) => `sim-flaky1-InternalServerError-race${i}`);
    await gw.http
      .post('/push')
      .send({ notifications: [ios(tokens)] })
      .expect(200);
    let page: DeadLetterPage = { dead_letters: [] };
    await eventually(async () => {
      page = (await gw!.http.get('/queue/dead-letters').expect(200)).body as DeadLetterPage;
      return page.dead_letters.length === tokens.length;
    }, 10_000);
    const ids = page.dead_letters.map((d) => d.dead_id);

    const answers = await Promise.all(
      Array.from({ length: 4 }, () => gw!.http.post('/queue/dead-letters/replay').send({ ids }).expect(200)),
    );
    const claimed = answers.flatMap((a) => (a.body as { replayed: string[] }).replayed);
    expect([...claimed].sort()).toEqual([...ids].sort());
    for (const a of answers) {
      const body = a.body as { count: number; replayed: string[]; missing: string[] };
      expect(body.count).toBe(body.replayed.length);
      expect([...body.replayed, ...body.missing].sort()).toEqual([...ids].sort());
    }

    await eventually(() => delivered(sim, tokens).length === 0, 10_000);
    const replayIds = page.dead_letters.map((d) => `${d.id}-r0`);
    let log: Record<string, unknown>[] = [];
    await eventually(
      () => replayIds.every((id) => (log = readLog(gw!.accessLog)).some((l) => l.type === 'succeeded-push' && l.id === id)),
      5000,
    );
    for (const id of replayIds) expect(log.filter((l) => l.type === 'accepted-push' && l.id === id)).toHaveLength(1);
    // The queue is empty once the replays have ended: nothing moved twice.
    await eventually(async () => ((await gw!.http.get('/stat/app').expect(200)).body as { queue_usage: number }).queue_usage === 0, 5000);
    // One failed first send and one replayed send per token.
    for (const token of tokens) expect(sim.records().filter((r) => r.token === token)).toHaveLength(2);
  });

  it('refuses the dead-letter routes to anonymous callers with 403 naming auth.api_keys when no key is set', async () => {
    gw = await start({ PUSHGATE_AUTH_ANONYMOUS_ADMIN: 'false' });
    const answers = [
      await gw.http.get('/queue/dead-letters'),
      await gw.http.post('/queue/dead-letters/replay').send({ ids: ['1764254413593-0'] }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(403);
      expect(res.body.message).toContain('auth.api_keys');
      expect(res.body.message).toContain('auth.anonymous_admin');
    }
  });

  it('expires dead letters after queue.dead_letter_ttl', async () => {
    gw = await start({ PUSHGATE_IOS_RETRY_MAX: '0', PUSHGATE_QUEUE_DEAD_LETTER_TTL: '1' });
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['sim-BadDeviceToken-ttl'])] })
      .expect(200);
    await eventually(
      async () => ((await gw!.http.get('/queue/dead-letters').expect(200)).body as DeadLetterPage).dead_letters.length === 1,
      5000,
    );
    await new Promise((r) => setTimeout(r, 1100));
    expect(((await gw.http.get('/queue/dead-letters').expect(200)).body as DeadLetterPage).dead_letters).toEqual([]);
  });

  it('answers 503 while Redis is down, reports it in readiness only, and loses nothing it accepted', async () => {
    gw = await start({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '9' });
    sim.latencyMs = 100;
    const before = Array.from({ length: 300 }, (_, i) => `restart-a${i}`);
    for (let i = 0; i < before.length; i += 30) {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(before.slice(i, i + 15)), android(before.slice(i + 15, i + 30))] })
        .expect(200);
    }
    await eventually(() => sim.records().length >= 20, 5000);
    // Slow answers from here on: once what went out at the old latency is answered, the pushes on the wire are
    // answered after Redis is gone and the snapshot taken, however quickly or slowly Redis stops.
    sim.latencyMs = 3000;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await eventually(async () => ((await gw!.http.get('/stat/app').expect(200)).body as { pusher_count: number }).pusher_count > 0, 5000);
    await redis.stop();
    const atStop = sim.records().length;
    const refused = await gw.http.post('/push').send({ notifications: [ios(['restart-refused'])] });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    const ready = await gw.http.get('/health/ready').expect(503);
    expect(ready.body.error.redis).toMatchObject({ status: 'down' });
    await gw.http.get('/health/live').expect(200);
    // Work already held keeps going out while Redis is away.
    await eventually(() => sim.records().length > atStop, 10_000);
    sim.latencyMs = 100;

    await redis.start();
    await eventually(async () => (await gw!.http.get('/health/ready')).status === 200, 10_000);
    const after = Array.from({ length: 30 }, (_, i) => `restart-b${i}`);
    await gw.http
      .post('/push')
      .send({ notifications: [ios(after)] })
      .expect(200);
    await eventually(() => delivered(sim, [...before, ...after]).length === 0, 30_000);
    await eventually(async () => ((await gw!.http.get('/stat/app').expect(200)).body as { queue_usage: number }).queue_usage === 0, 5000);
    expect(sim.records().some((r) => r.token === 'restart-refused')).toBe(false);
  });

  it('creates the consumer group again where the server has lost it, so that what it accepts from then on is delivered', async () => {
    // What a Cluster replica promoted before its first sync holds: no queue at all. The first push accepted there makes
    // the stream anew, without the group that every read goes through.
    gw = await start({ PUSHGATE_QUEUE_REDIS_PREFIX: 'lostgroup' });
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['lostgroup-a'])] })
      .expect(200);
    await eventually(() => delivered(sim, ['lostgroup-a']).length === 0, 10_000);
    const client = redis.client();
    try {
      const keys = queueKeys('lostgroup');
      expect(await client.del(keys.stream, keys.depth)).toBe(2);
      const after = Array.from({ length: 20 }, (_, i) => `lostgroup-b${i}`);
      await gw.http
        .post('/push')
        .send({ notifications: [ios(after.slice(0, 10)), android(after.slice(10))] })
        .expect(200);
      await eventually(() => delivered(sim, after).length === 0, 10_000);
      expect((await client.xinfo('GROUPS', keys.stream)) as unknown[]).toHaveLength(1);
      await eventually(async () => ((await gw!.http.get('/stat/app').expect(200)).body as { queue_usage: number }).queue_usage === 0, 5000);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a request whole with 503 when the shared capacity would be exceeded', async () => {
    gw = await start({ PUSHGATE_CORE_QUEUES: '10', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    sim.latencyMs = 300;
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['cap-1', 'cap-2', 'cap-3', 'cap-4', 'cap-5', 'cap-6'])] })
      .expect(200);
    const full = await gw.http.post('/push').send({ notifications: [ios(['cap-7', 'cap-8']), android(['cap-9', 'cap-10', 'cap-11'])] });
    expect(full.status).toBe(503);
    expect((await gw.http.get('/stat/app').expect(200)).body).toMatchObject({ queue_max: 10 });
    await eventually(() => delivered(sim, ['cap-1', 'cap-2', 'cap-3', 'cap-4', 'cap-5', 'cap-6']).length === 0, 10_000);
    expect(sim.records().filter((r) => /^cap-(7|8|9|10|11)$/.test(r.token))).toEqual([]);
  });

  it('gives the memory budget of a request back once its pushes are in Redis', async () => {
    // One notification of 6 six-character tokens is estimated at 7,218 bytes: two would not fit in 10,000 at once.
    gw = await start({ PUSHGATE_CORE_MEMORY_BUDGET: '10000', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    sim.latencyMs = 300;
    const first = ['rbud-1', 'rbud-2', 'rbud-3', 'rbud-4', 'rbud-5', 'rbud-6'];
    const second = ['rbud-7', 'rbud-8', 'rbud-9', 'rbud-a', 'rbud-b', 'rbud-c'];
    await gw.http
      .post('/push')
      .send({ notifications: [ios(first)] })
      .expect(200);
    expect(gw.app.get(MemoryBudget).used).toBe(0);
    await gw.http
      .post('/push')
      .send({ notifications: [android(second)] })
      .expect(200);
    expect(gw.app.get(MemoryBudget).refused).toBe(0);
    await eventually(() => delivered(sim, [...first, ...second]).length === 0, 30_000);
  });
});

describe('dead letters with the in-memory queue', () => {
  it('answer 404: they exist with queue.backend = "redis" only', async () => {
    await withSimulatedGateway({ PUSHGATE_AUTH_ANONYMOUS_ADMIN: 'true' }, async ({ gw }) => {
      await gw.http.get('/queue/dead-letters').expect(404);
      const ready = await gw.http.get('/health/ready').expect(200);
      expect(ready.body.info.redis).toBeUndefined();
    });
  });
});
