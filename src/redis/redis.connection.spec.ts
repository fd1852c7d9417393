import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { ConfigError, loadConfig, type QueueConfig } from '../config/pushgate.config';
import { queueKeys } from './redis.keys';
import { createRedisConnection, redisAddresses, redisTopology, ReplicaAck, type RedisConnection } from './redis.connection';

function queueFrom(env: Record<string, string>): QueueConfig {
  return loadConfig({ env: { PUSHGATE_QUEUE_BACKEND: 'redis', ...env } }).queue;
}

function problems(env: Record<string, string>): string[] {
  try {
    queueFrom(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('Redis connection from the queue configuration', () => {
  const opened: RedisConnection[] = [];
  afterEach(() => opened.splice(0).forEach((c) => c.disconnect()));
  const open = (queue: QueueConfig): RedisConnection => {
    const connection = createRedisConnection(queue, 'pushgate:test');
    opened.push(connection);
    return connection;
  };

  it('keeps a single URL as before: one server, not connected yet, failing fast while offline', () => {
    const connection = open(queueFrom({ PUSHGATE_QUEUE_REDIS_URL: 'redis://:pw@10.0.0.5:6380/2' }));
    expect(connection).toBeInstanceOf(Redis);
    const { options } = connection as Redis;
    expect(options).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      db: 2,
      password: 'pw',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    expect(options.sentinels).toBeFalsy();
    expect(options.tls).toBeUndefined();
    expect(connection.status).toBe('wait');
  });

  it('finds the primary through the sentinels, with both passwords and TLS as configured (TOML keys and their environment variables)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-redis-conn-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const toml = join(dir, 'pushgate.toml');
    writeFileSync(
      toml,
      [
        '[queue]',
        'backend = "redis"',
        'redis_sentinels = "10.0.0.1:26379, sentinel-2.redis:26380,[fd00::3]:26379"',
        'redis_sentinel_master = "mymaster"',
        'redis_tls = true',
        'redis_sentinel_tls = true',
        `redis_ca_path = "${ca}"`,
        '',
      ].join('\n'),
    );
    const queue = loadConfig({
      path: toml,
      env: { PUSHGATE_QUEUE_REDIS_PASSWORD: 'data-pw', PUSHGATE_QUEUE_REDIS_SENTINEL_PASSWORD: 'sentinel-pw' },
    }).queue;
    expect(redisTopology(queue)).toBe('sentinel');
    const { options } = open(queue) as Redis;
    expect(options).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-2.redis', port: 26380 },
        { host: 'fd00::3', port: 26379 },
      ],
      name: 'mymaster',
      role: 'master',
      password: 'data-pw',
      sentinelPassword: 'sentinel-pw',
      enableTLSForSentinelMode: true,
      failoverDetector: true,
      enableOfflineQueue: false,
    });
    expect(options.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(options.sentinelTLS?.ca).toContain('BEGIN CERTIFICATE');
  });

  it('opens a Cluster client from the seed nodes, the credentials on every node', () => {
    const queue = queueFrom({
      PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: '10.0.1.1:7000,10.0.1.2:7000',
      PUSHGATE_QUEUE_REDIS_USERNAME: 'pushgate',
      PUSHGATE_QUEUE_REDIS_PASSWORD: 'pw',
    });
    expect(redisTopology(queue)).toBe('cluster');
    const connection = open(queue);
    expect(connection).toBeInstanceOf(Cluster);
    const { options } = connection as Cluster;
    expect(options).toMatchObject({
      enableOfflineQueue: false,
      lazyConnect: true,
      redisOptions: { username: 'pushgate', password: 'pw', maxRetriesPerRequest: 1 },
    });
    expect(options.redisOptions?.tls).toBeUndefined();
  });

  it('connects to TLS cluster nodes by the names they announce, which their certificates carry', () => {
    const queue = queueFrom({
      PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: 'clustercfg.example.cache.amazonaws.com:6379',
      PUSHGATE_QUEUE_REDIS_TLS: 'true',
    });
    const { options } = open(queue) as Cluster;
    expect(options.redisOptions?.tls).toEqual({});
    let resolved: string | undefined;
    options.dnsLookup!('node-1.example.cache.amazonaws.com', (_error, address) => (resolved = address));
    expect(resolved).toBe('node-1.example.cache.amazonaws.com');
  });

  it('refuses a configuration that does not say where Redis is, or says it twice', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^queue.redis_url: required/)]);
    expect(problems({ PUSHGATE_QUEUE_REDIS_URL: 'http://redis' })).toEqual([expect.stringMatching(/^queue.redis_url: required/)]);
    expect(problems({ PUSHGATE_QUEUE_REDIS_SENTINELS: 'a:26379' })).toEqual([
      expect.stringMatching(/^queue.redis_sentinel_master: required/),
    ]);
    expect(problems({ PUSHGATE_QUEUE_REDIS_URL: 'redis://a', PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: 'b:7000' })).toEqual([
      expect.stringMatching(/set only one of them/),
    ]);
    expect(problems({ PUSHGATE_QUEUE_REDIS_CLUSTER_NODES: 'b:7000,c' })).toEqual([
      'queue.redis_cluster_nodes: expected host:port[,host:port...], got "c"',
    ]);
    expect(problems({ PUSHGATE_QUEUE_REDIS_URL: 'redis://a', PUSHGATE_QUEUE_REDIS_WAIT_TIMEOUT_MS: '0' })).toEqual([
      expect.stringMatching(/redis_wait_timeout_ms: 0 is outside/),
    ]);
    // The memory queue ignores the Redis keys, as it always did.
    expect(() => loadConfig({ env: { PUSHGATE_QUEUE_REDIS_SENTINELS: 'nonsense' } })).not.toThrow();
  });

  it('parses addresses, IPv6 in brackets included', () => {
    expect(redisAddresses(' a:1 ,[::1]:2,,b.c:3')).toEqual([
      { host: 'a', port: 1 },
      { host: '::1', port: 2 },
      { host: 'b.c', port: 3 },
    ]);
  });
});

describe('ReplicaAck', () => {
  function connection(answers: number[]): { sent: unknown[][]; connection: RedisConnection } {
    const sent: unknown[][] = [];
    const fake = { wait: (replicas: number, timeout: number) => (sent.push([replicas, timeout]), Promise.resolve(answers.shift() ?? 0)) };
    return { sent, connection: fake as unknown as RedisConnection };
  }

  it('sends nothing when no replica is asked for', async () => {
    const { sent, connection: c } = connection([]);
    await new ReplicaAck(c, 'k', 0, 100).confirm();
    expect(sent).toEqual([]);
  });

  it('shares one WAIT among callers of the same turn, and sends a new one for later callers', async () => {
    const { sent, connection: c } = connection([1, 1]);
    const ack = new ReplicaAck(c, 'k', 1, 250);
    await Promise.all([ack.confirm(), ack.confirm(), ack.confirm()]);
    expect(sent).toEqual([[1, 250]]);
    await ack.confirm();
    expect(sent).toHaveLength(2);
  });

  it('rejects every caller when fewer replicas acknowledged than asked for', async () => {
    const { connection: c } = connection([1]);
    const ack = new ReplicaAck(c, 'k', 2, 250);
    const results = await Promise.allSettled([ack.confirm(), ack.confirm()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('1 of 2 replicas acknowledged within 250 ms'));
  });
});

describe('queue key names', () => {
  it('are the names running queues already use, hash-tagged by the prefix so that a Cluster keeps them in one slot', () => {
    expect(queueKeys('pushgate')).toEqual({
      stream: '{pushgate}:stream',
      depth: '{pushgate}:depth',
      dead: '{pushgate}:dead',
      done: '{pushgate}:done:',
    });
  });
});
