import { performance } from 'node:perf_hooks';
import { Simulator } from '../../src/simulator/simulator';
import { ios } from '../support/gateway';
import { GatewayProcess, haveRedisServer, RedisServer, until } from './support';

// Long enough that a busy machine does not run into it while measuring.
const WAIT_TIMEOUT_MS = 2000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((x, y) => x - y);
  return `p50 ${percentile(sorted, 50).toFixed(2)} ms, p90 ${percentile(sorted, 90).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`;
}

(haveRedisServer() ? describe : describe.skip)('queue.redis_wait_replicas: 200 only once a replica holds the pushes (Redis WAIT)', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let sim: Simulator;
  let plain: GatewayProcess;
  let acked: GatewayProcess;
  let n = 0;

  const push = async (gw: GatewayProcess, tag: string): Promise<{ status: number; ms: number; tokens: string[] }> => {
    const tokens = Array.from({ length: 10 }, (_, i) => `${tag}-${n}-${i}`);
    n++;
    const started = performance.now();
    const response = await gw.push([ios(tokens)]);
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started, tokens };
  };

  beforeAll(async () => {
    // Redis's default fsync policy: what is measured is the replica's round trip, not the disk.
    primary = await RedisServer.start({ appendfsync: 'everysec' });
    replica = await RedisServer.start({ replicaOf: primary, appendfsync: 'everysec' });
    const client = primary.client();
    try {
      await until(async () => /slave0:.*state=online/.test(await client.info('replication')), 20_000, 'replica in sync');
    } finally {
      client.disconnect();
    }
    sim = await Simulator.start({ recordLimit: 200_000 });
    const env = (prefix: string, replicas: number): Record<string, string> => ({
      PUSHGATE_QUEUE_BACKEND: 'redis',
      PUSHGATE_QUEUE_REDIS_URL: primary.url,
      PUSHGATE_QUEUE_REDIS_PREFIX: prefix,
      PUSHGATE_QUEUE_REDIS_WAIT_REPLICAS: String(replicas),
      PUSHGATE_QUEUE_REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
      PUSHGATE_CORE_QUEUES: '1000000',
      PUSHGATE_CORE_WORKERS: '1',
    });
    [plain, acked] = await Promise.all([GatewayProcess.start(sim, env('nowait', 0)), GatewayProcess.start(sim, env('wait', 1))]);
  }, 60_000);

  afterAll(async () => {
    if (replica?.pid) process.kill(replica.pid, 'SIGCONT');
    await Promise.all([plain, acked].map((gw) => gw?.stop('SIGKILL')));
    await sim?.close();
    await Promise.all([primary, replica].map((r) => r?.close()));
  });

  it('costs a replica round trip per request, shared by concurrent requests (measured)', async () => {
    for (let i = 0; i < 50; i++) for (const gw of [plain, acked]) expect((await push(gw, 'warm')).status).toBe(200);
    // One request at a time, alternating, so that both see the same machine.
    const sequential = { plain: [] as number[], acked: [] as number[] };
    for (let i = 0; i < 300; i++) {
      const a = await push(plain, 'seq');
      const b = await push(acked, 'seq');
      expect([a.status, b.status]).toEqual([200, 200]);
      sequential.plain.push(a.ms);
      sequential.acked.push(b.ms);
    }
    // Sixteen clients at once for two seconds, on each gateway in turn.
    const concurrent: Record<string, { ms: number[]; perSecond: number }> = {};
    for (const [name, gw] of [
      ['plain', plain],
      ['acked', acked],
    ] as const) {
      const ms: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (performance.now() - started < 2000) {
            const r = await push(gw, 'conc');
            expect(r.status).toBe(200);
            ms.push(r.ms);
          }
        }),
      );
      concurrent[name] = { ms, perSecond: Math.round(ms.length / ((performance.now() - started) / 1000)) };
    }
    console.log(
      [
        'POST /push of 10 pushes, primary and one replica (appendfsync everysec) on the same machine:',
        `  one at a time, no WAIT:    ${summary(sequential.plain)}`,
        `  one at a time, WAIT 1:     ${summary(sequential.acked)}`,
        `  16 at a time, no WAIT:     ${summary(concurrent.plain.ms)}, ${concurrent.plain.perSecond} requests/s`,
        `  16 at a time, WAIT 1:      ${summary(concurrent.acked.ms)}, ${concurrent.acked.perSecond} requests/s`,
      ].join('\n'),
    );
  }, 60_000);

  it('answers 503 when no replica acknowledges in time; the pushes were written and still go out', async () => {
    process.kill(replica.pid!, 'SIGSTOP');
    let refused: Awaited<ReturnType<typeof push>>;
    try {
      expect((await push(plain, 'frozen')).status).toBe(200);
      refused = await push(acked, 'frozen');
    } finally {
      process.kill(replica.pid!, 'SIGCONT');
    }
    expect(refused.status).toBe(503);
    expect(refused.ms).toBeGreaterThanOrEqual(WAIT_TIMEOUT_MS - 5);
    expect(acked.log).toMatch(/0 of 1 replicas acknowledged within 2000 ms/);
    // At least once: the client retries a 503, and what the primary had already written is delivered as well.
    const delivered = (): Set<string> => new Set(sim.records().map((r) => r.token));
    await until(() => refused.tokens.every((t) => delivered().has(t)), 10_000, 'written pushes delivered');
    await until(async () => (await push(acked, 'thawed')).status === 200, 10_000, '200 again with the replica back');
  }, 30_000);
});
