import { Simulator } from '../../src/simulator/simulator';
import {
  deliveredTokens,
  expectRefusalsOnlyDuring,
  failoverUnderLoad,
  GatewayProcess,
  haveRedisSentinel,
  readinessDownMs,
  RedisSentinel,
  RedisServer,
  slowest,
  until,
  untilSettled,
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
    // Both gateways notice, then find the new primary through the sentinels without any help. Usually within 4 s; the
    // bound leaves room for sentinels starved of CPU on a loaded machine.
    const failover = await failoverUnderLoad(gateways, { tag: 'sentinel', kill: () => primary.stop('SIGKILL'), recoveryMs: 60_000 });
    const client = sentinels[0].client();
    const [, port] = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as [string, string];
    client.disconnect();
    expect(Number(port)).toBe(replica.port);

    const { sent } = failover;
    const tokens = sent.filter((s) => s.status === 200).flatMap((s) => s.tokens);
    await until(() => tokens.every((t) => deliveredTokens(sim).has(t)), 30_000, 'every accepted push delivered');
    await untilSettled(gateways, 20_000);

    const refused = expectRefusalsOnlyDuring(failover);
    // Counters agree with the simulator: every push a gateway counted as sent arrived, and nothing else did.
    const stats = await Promise.all(gateways.map((gw) => gw.stats()));
    const succeeded = stats.reduce((sum, s) => sum + s.ios.push_success + s.android.push_success, 0);
    expect(succeeded).toBe(sim.records().filter((r) => r.status === 200).length);
    expect(stats.reduce((sum, s) => sum + s.ios.push_error + s.android.push_error, 0)).toBe(0);
    const lines = gateways.flatMap((gw) => gw.accessLines());
    expect(lines.filter((l) => l.type === 'failed-push')).toEqual([]);
    const duplicates = succeeded - deliveredTokens(sim).size;
    console.log(
      `sentinel failover: ${tokens.length} pushes accepted in ${sent.length - refused.length} requests, all delivered; ` +
        `${refused.length} requests refused with 503 during the switch (slowest answer ${slowest(refused)} ms, slowest 200 ${slowest(sent.filter((s) => s.status === 200))} ms); readiness down ${readinessDownMs(failover).join(' ms, ')} ms; ` +
        `${duplicates} pushes sent twice`,
    );
  }, 150_000);
});
