import { Simulator } from '../../src/simulator/simulator';
import {
  GatewayProcess,
  haveRedisSentinel,
  pushLoop,
  readinessWatch,
  RedisSentinel,
  RedisServer,
  until,
  slowest,
  type Sent,
} from './support';

const MASTER = 'pushgate-primary';
const PASSWORD = 'redis:pw/@';
const SENTINEL_PASSWORD = 'sentinel-pw';

(haveRedisSentinel() ? describe : describe.skip)('queue on a Sentinel-managed Redis (redis-sentinel, node dist/main.js)', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  const sentinels: RedisSentinel[] = [];
  let sim: Simulator;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    primary = await RedisServer.start({ password: PASSWORD });
    replica = await RedisServer.start({ password: PASSWORD, replicaOf: primary });
    for (let i = 0; i < 3; i++) {
      sentinels.push(await RedisSentinel.start(primary, { name: MASTER, password: SENTINEL_PASSWORD, primaryPassword: PASSWORD }));
    }
    // A failover needs a quorum of sentinels that know each other, and a replica that is in sync.
    const clients = sentinels.map((s) => s.client());
    try {
      await until(
        async () => {
          for (const client of clients) {
            const known = (await client.call('SENTINEL', 'SENTINELS', MASTER)) as unknown[];
            const replicas = (await client.call('SENTINEL', 'REPLICAS', MASTER)) as string[][];
            if (known.length !== 2 || replicas.length !== 1 || !replicas[0].join(' ').includes('master-link-status ok')) return false;
          }
          return true;
        },
        30_000,
        'sentinels know each other and the replica',
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
    sim = await Simulator.start({ recordLimit: 200_000 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop('SIGKILL')));
    await sim?.close();
    await Promise.all([primary, replica, ...sentinels].map((p) => p?.close()));
  });

  it('SIGKILL of the primary: 503s while the sentinels elect the replica, readiness down and back by itself, every push accepted is delivered', async () => {
    for (let i = 0; i < 2; i++) {
      gateways.push(
        await GatewayProcess.start(sim, {
          PUSHGATE_QUEUE_BACKEND: 'redis',
          PUSHGATE_QUEUE_REDIS_SENTINELS: sentinels.map((s) => s.address).join(','),
          PUSHGATE_QUEUE_REDIS_SENTINEL_MASTER: MASTER,
          PUSHGATE_QUEUE_REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
          PUSHGATE_QUEUE_REDIS_PASSWORD: PASSWORD,
          PUSHGATE_QUEUE_CLAIM_IDLE: '2',
          PUSHGATE_CORE_QUEUES: '100000',
          PUSHGATE_CORE_WORKERS: '1',
        }),
      );
    }
    sim.latencyMs = 20;
    const sent: Sent[] = [];
    const readiness = gateways.map(() => [] as { status: number; at: number }[]);
    let running = true;
    const loops = [
      ...gateways.flatMap((gw, g) => [0, 1].map((l) => pushLoop(gw, `sentinel-${g}${l}`, 5, sent, () => running))),
      ...gateways.map((gw, g) => readinessWatch(gw, readiness[g], () => running)),
    ];
    const accepted = (): number => sent.filter((s) => s.status === 200).length;
    let killedAt = 0;

    try {
      await until(() => accepted() >= 100, 20_000, 'pushes accepted before the failover');
      killedAt = Date.now();
      await primary.stop('SIGKILL');
      // Both gateways notice, then find the new primary through the sentinels without any help.
      await until(
        () => readiness.every((changes) => changes.some((c) => c.at > killedAt && c.status === 503) && changes.at(-1)!.status === 200),
        30_000,
        'readiness down and back on both gateways',
      );
      const recoveredAt = Math.max(...readiness.map((changes) => changes.at(-1)!.at));
      await until(
        () => sent.filter((s) => s.status === 200 && s.at > recoveredAt).length >= 100,
        20_000,
        'pushes accepted after the failover',
      );
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const client = sentinels[0].client();
    const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as [string, string];
    client.disconnect();
    expect(Number(port)).toBe(replica.port);

    const tokens = sent.filter((s) => s.status === 200).flatMap((s) => s.tokens);
    const delivered = (): Set<string> =>
      new Set(
        sim
          .records()
          .filter((r) => r.status === 200)
          .map((r) => r.token),
      );
    await until(() => tokens.every((t) => delivered().has(t)), 30_000, 'every accepted push delivered');
    await until(
      async () => (await Promise.all(gateways.map((gw) => gw.stats()))).every((s) => s.queue_usage === 0),
      20_000,
      'shared depth back to 0',
    );

    const refused = sent.filter((s) => s.status !== 200);
    // Refusals are 503s (Retry-After: the client sends again), and only while the primary was gone.
    expect(refused.filter((s) => s.status !== 503)).toEqual([]);
    expect(refused.filter((s) => s.at < killedAt)).toEqual([]);
    // Counters agree with the simulator: every push a gateway counted as sent arrived, and nothing else did.
    const stats = await Promise.all(gateways.map((gw) => gw.stats()));
    const succeeded = stats.reduce((sum, s) => sum + s.ios.push_success + s.android.push_success, 0);
    expect(succeeded).toBe(sim.records().filter((r) => r.status === 200).length);
    expect(stats.reduce((sum, s) => sum + s.ios.push_error + s.android.push_error, 0)).toBe(0);
    const lines = gateways.flatMap((gw) => gw.accessLines());
    expect(lines.filter((l) => l.type === 'failed-push')).toEqual([]);
    const downMs = readiness.map((changes) => {
      const down = changes.find((c) => c.status !== 200 && c.at >= killedAt)!;
      return changes[changes.indexOf(down) + 1].at - down.at;
    });
    const duplicates = succeeded - delivered().size;
    console.log(
      `sentinel failover: ${tokens.length} pushes accepted in ${sent.length - refused.length} requests, all delivered; ` +
        `${refused.length} requests refused with 503 during the switch (slowest answer ${slowest(refused)} ms, slowest 200 ${slowest(sent.filter((s) => s.status === 200))} ms); readiness down ${downMs.join(' ms, ')} ms; ` +
        `${duplicates} pushes sent twice`,
    );
  }, 60_000);
});
