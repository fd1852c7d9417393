import { Redis } from 'ioredis';
import { queueKeys } from '../../src/redis/redis.keys';
import { Simulator, type SimRecord } from '../../src/simulator/simulator';
import { android, ios } from '../support/gateway';
import { GatewayProcess, haveRedisServer, RedisServer, until } from './support';

/** Requests of `size` pushes, half iOS and half Android notifications of `perNotification` tokens. */
function requests(
  tag: string,
  total: number,
  size: number,
  perNotification: number,
): { tokens: string[]; bodies: Record<string, unknown>[][] } {
  const tokens = Array.from({ length: total }, (_, i) => `${tag}-${i}`);
  const bodies: Record<string, unknown>[][] = [];
  for (let r = 0; r < total; r += size) {
    const notifications: Record<string, unknown>[] = [];
    for (let n = r; n < Math.min(r + size, total); n += perNotification) {
      const slice = tokens.slice(n, Math.min(n + perNotification, r + size, total));
      notifications.push((n / perNotification) % 2 === 0 ? ios(slice) : android(slice));
    }
    bodies.push(notifications);
  }
  return { tokens, bodies };
}

/** Tokens of the notifications still in the stream whose pushes are not recorded as ended in their bitmaps. */
async function unfinishedTokens(url: string, prefix: string): Promise<Set<string>> {
  const client = new Redis(url);
  try {
    const keys = queueKeys(prefix);
    const tokens = new Set<string>();
    for (const [, fields] of (await client.xrange(keys.stream, '-', '+')) as [string, string[]][]) {
      const stored = JSON.parse(fields[fields.indexOf('n') + 1]) as { p: string; d: { token: string[] } };
      const done = (await client.getBuffer(keys.done + stored.p)) ?? Buffer.alloc(0);
      stored.d.token.forEach((token, i) => {
        if (!(i >> 3 < done.length && (done[i >> 3] >> (7 - (i & 7))) & 1)) tokens.add(token);
      });
    }
    return tokens;
  } finally {
    client.disconnect();
  }
}

function byToken(records: SimRecord[]): Map<string, SimRecord[]> {
  const map = new Map<string, SimRecord[]>();
  for (const r of records) map.set(r.token, [...(map.get(r.token) ?? []), r]);
  return map;
}

(haveRedisServer() ? describe : describe.skip)('gateway processes sharing one Redis (node dist/main.js)', () => {
  let redis: RedisServer;
  let sim: Simulator;
  const gateways: GatewayProcess[] = [];
  let prefix = 0;

  async function gateway(env: Record<string, string>, shared: string): Promise<GatewayProcess> {
    const gw = await GatewayProcess.start(sim, {
      PUSHGATE_QUEUE_BACKEND: 'redis',
      PUSHGATE_QUEUE_REDIS_URL: redis.url,
      PUSHGATE_QUEUE_REDIS_PREFIX: shared,
      PUSHGATE_QUEUE_CLAIM_IDLE: '2',
      PUSHGATE_CORE_QUEUES: '100000',
      ...env,
    });
    gateways.push(gw);
    return gw;
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    sim = await Simulator.start({ recordLimit: 100_000 });
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.stop('SIGKILL')));
    sim.latencyMs = 0;
    sim.reset();
  });
  afterAll(async () => {
    await sim.close();
    await redis.close();
  });

  it('kill -9 with pushes queued and in flight: another gateway finishes them, every push accounted for', async () => {
    const shared = `kill${prefix++}`;
    const concurrency = 20;
    const a = await gateway({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: String(concurrency - 1) }, shared);
    sim.latencyMs = 200;
    const { tokens, bodies } = requests('kill', 600, 60, 10);
    // Every tenth token fails for good: such pushes end failed, and count as accounted for too.
    const failing = new Set<string>();
    for (const body of bodies) {
      for (const n of body) {
        const list = n.token as string[];
        const i = list.length - 1;
        list[i] = `sim-${n.platform === 1 ? 'BadDeviceToken' : 'UNREGISTERED'}-${list[i]}`;
        failing.add(list[i]);
      }
    }
    const all = bodies.flatMap((b) => b.flatMap((n) => n.token as string[]));
    for (const body of bodies) expect((await a.push(body)).status).toBe(200);
    await until(() => sim.records().length >= 60, 10_000, 'first deliveries');
    a.child.kill('SIGKILL');
    await a.exited;
    const beforeKill = sim.records().length;
    expect(beforeKill).toBeLessThan(all.length / 2);
    const unfinished = await unfinishedTokens(redis.url, shared);
    // Whatever a had sent has reached the simulator by now: later records are b's.
    const bStartedAt = Date.now();

    const b = await gateway({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '49' }, shared);
    await until(() => all.every((t) => byToken(sim.records()).has(t)), 30_000, 'every push sent');
    await until(async () => (await b.stats()).queue_usage === 0, 30_000, 'shared depth back to 0');

    const records = byToken(sim.records());
    const succeeded = all.filter((t) => records.get(t)!.some((r) => r.status === 200));
    const failed = all.filter((t) => records.get(t)!.every((r) => r.status !== 200));
    expect(succeeded.length + failed.length).toBe(all.length);
    expect(new Set(failed)).toEqual(failing);
    // Only what a had sent without its end reaching Redis may go out twice (on the wire when it died, or answered
    // while the write recording it was under way); nothing recorded as ended is sent again.
    const duplicated = all.filter((t) => records.get(t)!.length > 1);
    expect(duplicated.filter((t) => !unfinished.has(t))).toEqual([]);
    expect(duplicated.filter((t) => records.get(t)!.filter((r) => r.at < bStartedAt).length !== 1)).toEqual([]);
    expect(all.filter((t) => records.get(t)!.filter((r) => r.at >= bStartedAt).length > 1)).toEqual([]);
    expect(duplicated.length).toBeLessThanOrEqual(2 * concurrency);
    expect(tokens.length).toBe(all.length);
    expect(b.log).toMatch(/claimed \d+ notifications left unfinished/);
  }, 60_000);

  it('three gateways on one Redis send every push exactly once and share the work', async () => {
    const shared = `three${prefix++}`;
    const three = await Promise.all([0, 1, 2].map(() => gateway({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '49' }, shared)));
    sim.latencyMs = 20;
    const { tokens, bodies } = requests('three', 3000, 100, 10);
    // Requests all go to one replica, as a client pinned to one pod would: the others must still take their share.
    await Promise.all(bodies.map(async (body, i) => expect((await three[i % 10 === 0 ? 1 : 0].push(body)).status).toBe(200)));
    await until(() => sim.records().length >= tokens.length, 30_000, 'every push sent');
    await new Promise((r) => setTimeout(r, 1000));

    const records = byToken(sim.records());
    expect(sim.records()).toHaveLength(tokens.length);
    expect(tokens.filter((t) => records.get(t)?.length !== 1)).toEqual([]);
    const sent = await Promise.all(
      three.map(async (gw) => {
        const s = await gw.stats();
        return s.ios.push_success + s.android.push_success;
      }),
    );
    expect(sent.reduce((x, y) => x + y, 0)).toBe(tokens.length);
    for (const n of sent) expect(n).toBeGreaterThan(0);
  }, 60_000);

  it('SIGTERM hands unfinished pushes back to the queue instead of failing them', async () => {
    const shared = `term${prefix++}`;
    const a = await gateway({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '9', PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1' }, shared);
    sim.latencyMs = 200;
    const { tokens, bodies } = requests('term', 400, 100, 10);
    for (const body of bodies) expect((await a.push(body)).status).toBe(200);
    await until(() => sim.records().length >= 10, 10_000, 'first deliveries');
    // Answers slower than the shutdown timeout from here on: a still has pushes out when its drain ends.
    sim.latencyMs = 3000;
    await a.stop('SIGTERM');
    expect(a.child.exitCode).toBe(0);
    const lines = a.accessLines();
    expect(lines.filter((l) => l.type === 'failed-push')).toEqual([]);
    expect(a.log).toMatch(/handed back to the queue/);
    const sentByA = sim.records().length;
    expect(sentByA).toBeLessThan(tokens.length);

    const b = await gateway({ PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '49' }, shared);
    sim.latencyMs = 0;
    await until(() => tokens.every((t) => byToken(sim.records()).has(t)), 20_000, 'every push sent');
    // Handed back at once, not after queue.claim_idle: nothing was claimed.
    expect(b.log).not.toMatch(/claimed/);
    expect(sim.records().length - tokens.length).toBeLessThanOrEqual(10);
  }, 60_000);
});
