import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/pushgate.config';
import { createRedisConnection, nodeOf, ReplicaAck } from '../../src/redis/redis.connection';
import { GROUP, queueKeys } from '../../src/redis/redis.keys';
import { Simulator } from '../../src/simulator/simulator';
import { android, ios } from '../support/gateway';
import {
  deliveredTokens,
  expectRefusalsOnlyDuring,
  failoverUnderLoad,
  GatewayProcess,
  haveRedisServer,
  readinessDownMs,
  RedisCluster,
  slowest,
  until,
  untilSettled,
} from './support';

/**
 * A Redis Cluster and a simulator for the enclosing `describe`, started before its first test and handed to `use`;
 * after its last, the gateway processes its tests put in `gateways` are killed, then the simulator and the cluster
 * stopped.
 */
function clusterForSuite(
  use: (started: { cluster: RedisCluster; sim: Simulator }) => void,
  startCluster: () => Promise<RedisCluster>,
  { recordLimit, timeoutMs, gateways }: { recordLimit: number; timeoutMs: number; gateways: GatewayProcess[] },
): void {
  let cluster: RedisCluster | undefined;
  let sim: Simulator | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
    sim = await Simulator.start({ recordLimit });
    use({ cluster, sim });
  }, timeoutMs);
  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop('SIGKILL')));
    await sim?.close();
    await cluster?.close();
  });
}

(haveRedisServer() ? describe : describe.skip)('queue on a Redis Cluster of three primaries (node dist/main.js)', () => {
  let cluster: RedisCluster;
  let sim: Simulator;
  const gateways: GatewayProcess[] = [];
  clusterForSuite(
    (started) => ({ cluster, sim } = started),
    () => RedisCluster.start(3),
    { recordLimit: 100_000, timeoutMs: 60_000, gateways },
  );

  it('two gateways share the queue; kill -9 of one: the other claims what it held, every push delivered', async () => {
    const prefix = 'pgcluster';
    const start = async (): Promise<GatewayProcess> => {
      const gw = await GatewayProcess.start(sim, {
        PUSHGATE_QUEUE_BACKEND: 'redis',
        // Two of the three as seeds: the client learns the rest of the cluster from them.
        PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: cluster.nodes
          .slice(0, 2)
          .map((n) => n.address)
          .join(','),
        PUSHGATE_QUEUE_REDIS_PREFIX: prefix,
        PUSHGATE_QUEUE_CLAIM_IDLE: '2',
        PUSHGATE_CORE_QUEUES: '100000',
        PUSHGATE_CORE_WORKERS: '1',
        PUSHGATE_CORE_PUSHER_MAX: '19',
      });
      gateways.push(gw);
      return gw;
    };
    const [a, b] = [await start(), await start()];
    sim.latencyMs = 200;
    const tokens: string[] = [];
    const bodies: Record<string, unknown>[][] = [];
    const tokensPerNotification = 10;
    for (let r = 0; r < 20; r++) {
      const notifications: Record<string, unknown>[] = [];
      for (let n = 0; n < 4; n++) {
        const list = Array.from({ length: tokensPerNotification }, (_, i) => `cluster-${r}-${n}-${i}`);
        tokens.push(...list);
        notifications.push(n % 2 === 0 ? ios(list) : android(list));
      }
      bodies.push(notifications);
    }
    // Half of the requests to each gateway, as a load balancer would spread them.
    for (const [i, body] of bodies.entries()) expect((await (i % 2 === 0 ? a : b).push(body)).status).toBe(200);

    await until(() => sim.records().length >= 80, 10_000, 'first deliveries');
    // Counted when the kill is sent: b goes on delivering while a takes its time to exit on a loaded machine.
    const deliveredAtKill = sim.records().length;
    a.child.kill('SIGKILL');
    await a.exited;
    expect(deliveredAtKill).toBeLessThan(tokens.length / 2);

    const delivered = (): Set<string> => new Set(sim.records().map((r) => r.token));
    await until(() => tokens.every((t) => delivered().has(t)), 40_000, 'every push sent');
    await until(async () => (await b.stats()).queue_usage === 0, 10_000, 'shared depth back to 0');
    expect(sim.records().every((r) => r.status === 200)).toBe(true);
    expect(b.log).toMatch(/claimed \d+ notifications left unfinished/);
    // At least once: b sends again every push of a notification it claimed whose end a had not yet recorded in Redis,
    // those a had on the wire and those already answered whose acknowledgement had not reached Redis alike. So only
    // pushes of claimed notifications may go out twice.
    const claimed = [...`${a.log}\n${b.log}`.matchAll(/claimed (\d+) notifications left unfinished/g)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    const twice = sim.records().length - tokens.length;
    console.log(`cluster kill -9: ${twice} pushes sent twice; ${claimed} notifications of ${tokensPerNotification} pushes claimed`);
    expect(twice).toBeLessThanOrEqual(claimed * tokensPerNotification);

    // One hash slot holds the whole queue: the keys sit on one of the three primaries and on none of the others.
    const keys = queueKeys(prefix);
    const holders: string[] = [];
    for (const node of cluster.nodes) {
      const client = node.client();
      try {
        const slot = await client.cluster('KEYSLOT', keys.stream);
        expect(await client.cluster('KEYSLOT', keys.depth)).toBe(slot);
        expect(await client.cluster('KEYSLOT', `${keys.done}x`)).toBe(slot);
        if ((await client.cluster('COUNTKEYSINSLOT', slot)) > 0) holders.push(node.address);
      } finally {
        client.disconnect();
      }
    }
    expect(holders).toHaveLength(1);
    // Two gateway starts (a minute each at most) and the waits above, on a loaded machine.
  }, 180_000);

  it('sends keyless commands (CLIENT, PING, WAIT) to the node that holds the queue, over the connection its commands use', async () => {
    const { queue } = loadConfig({
      env: { PUSHGATE_QUEUE_BACKEND: 'redis', PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: cluster.nodes[0].address },
    });
    const keys = queueKeys('pgwake');
    const reader = createRedisConnection(queue, 'pushgate:reader');
    const commands = createRedisConnection(queue, 'pushgate:commands');
    try {
      await Promise.all([reader.connect(), commands.connect()]);
      await commands.xgroup('CREATE', keys.stream, GROUP, '$', 'MKSTREAM');
      const node = (await nodeOf(commands, keys.stream)) as Redis;
      const holder = cluster.nodes.find((n) => n.port === node.options.port)!;
      const direct = holder.client();
      try {
        expect(await direct.cluster('COUNTKEYSINSLOT', await direct.cluster('KEYSLOT', keys.stream))).toBe(1);
      } finally {
        direct.disconnect();
      }
      expect(await node.ping()).toBe('PONG');
      const id = await (await nodeOf(reader, keys.stream)).client('ID');
      const started = Date.now();
      const read = reader.xreadgroup('GROUP', GROUP, 'c', 'BLOCK', 10_000, 'STREAMS', keys.stream, '>');
      await until(async () => new RegExp(`id=${id} .*cmd=xreadgroup`).test(String(await node.client('LIST'))), 5000, 'read blocked');
      expect(await node.client('UNBLOCK', id)).toBe(1);
      expect(await read).toBeNull();
      expect(Date.now() - started).toBeLessThan(5000);
      // WAIT on the node that took the write: no replicas here, so zero acknowledge, at once.
      await commands.set(keys.depth, '0');
      await expect(new ReplicaAck(commands, keys.stream, 1, 50).confirm()).rejects.toThrow('0 of 1 replicas acknowledged within 50 ms');
    } finally {
      reader.disconnect();
      commands.disconnect();
    }
  });
});

/**
 * Three primaries with a replica each; two gateways; the primary that holds the queue is killed with SIGKILL while
 * both take requests. With `synced`, each replica holds a copy of its primary, as in production; without, the
 * replica that takes over has not made its first copy yet and starts empty.
 */
function clusterFailover(synced: boolean): void {
  (haveRedisServer() ? describe : describe.skip)(
    `queue on a Redis Cluster with a replica per primary${synced ? '' : ' that has not synced yet'} (node dist/main.js)`,
    () => {
      let cluster: RedisCluster;
      let sim: Simulator;
      const gateways: GatewayProcess[] = [];
      clusterForSuite(
        (started) => ({ cluster, sim } = started),
        () => RedisCluster.start(3, 1, { synced }),
        {
          recordLimit: 200_000,
          timeoutMs: 90_000,
          gateways,
        },
      );

      it(
        synced
          ? 'SIGKILL of the primary that holds the queue: 503s until its replica takes the slot over, every push accepted is delivered but what the primary had not yet copied'
          : 'SIGKILL of the primary before its replica synced: the replica takes the slot over empty, the consumer group is created again there, every push accepted from then on is delivered',
        async () => {
          const prefix = synced ? 'pgfailover' : 'pgunsynced';
          for (let i = 0; i < 2; i++) {
            gateways.push(
              await GatewayProcess.start(sim, {
                PUSHGATE_QUEUE_BACKEND: 'redis',
                PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: cluster.seeds,
                PUSHGATE_QUEUE_REDIS_PREFIX: prefix,
                PUSHGATE_QUEUE_CLAIM_IDLE: '2',
                PUSHGATE_CORE_QUEUES: '100000',
                PUSHGATE_CORE_WORKERS: '1',
              }),
            );
          }
          sim.latencyMs = 20;
          const victim = await cluster.primaryOf(queueKeys(prefix).stream);
          const failover = await failoverUnderLoad(gateways, {
            tag: synced ? 'cfail' : 'cempty',
            kill: () => victim.stop('SIGKILL'),
            // The replica's election waits for cluster-node-timeout and a vote of the other primaries: on a loaded
            // machine that can take tens of seconds.
            recoveryMs: 60_000,
          });
          expect((await cluster.primaryOf(queueKeys(prefix).stream)).port).not.toBe(victim.port);

          const { sent, exitedAt, killedAt } = failover;
          const accepted = sent.filter((s) => s.status === 200);
          // A request sent once the primary had exited can only have been written on the replica that took over: all
          // of those must be delivered. One sent earlier may have been written on the dead primary alone.
          const after = accepted.filter((s) => s.at - s.ms > exitedAt);
          const before = accepted.filter((s) => s.at - s.ms <= exitedAt);
          const afterTokens = after.flatMap((s) => s.tokens);
          await until(
            () => afterTokens.every((t) => deliveredTokens(sim).has(t)),
            30_000,
            'every push accepted after the failover delivered',
          );
          await untilSettled(gateways, 30_000);
          const lostRequests = before.filter((s) => s.tokens.some((t) => !deliveredTokens(sim).has(t)));
          const lost = lostRequests.flatMap((s) => s.tokens).filter((t) => !deliveredTokens(sim).has(t)).length;
          const beforeCount = before.reduce((n, s) => n + s.tokens.length, 0);
          if (synced) {
            // Replication is asynchronous: what the primary acknowledged but had not yet sent to its replica dies with
            // it (docs/redis-ha.md). With the replica in sync that is the last instant's writes, nothing older.
            expect(lostRequests.filter((s) => s.at < killedAt - 1000)).toEqual([]);
          } else {
            // The replica had nothing: what was not sent before the kill is gone, and the group had to be made anew.
            expect(gateways.map((gw) => gw.log).join('\n')).toMatch(/consumer group of \{pgunsynced\}:stream is missing/);
          }

          const refused = expectRefusalsOnlyDuring(failover);
          const succeeded = sim.records().filter((r) => r.status === 200).length;
          console.log(
            `cluster failover${synced ? '' : ' to an unsynced replica'}: ${accepted.length * 5} pushes accepted in ${accepted.length} requests; ` +
              `${afterTokens.length} sent after the primary exited, all delivered; ${lost} of the ${beforeCount} sent before not delivered (lost with the primary); ` +
              `${refused.length} requests refused with 503 during the switch (slowest answer ${slowest(refused)} ms, slowest 200 ${slowest(accepted)} ms); readiness down ${readinessDownMs(failover).join(' ms, ')} ms; ` +
              `${succeeded - deliveredTokens(sim).size} pushes sent twice`,
          );
        },
        180_000,
      );
    },
  );
}

clusterFailover(true);
clusterFailover(false);
