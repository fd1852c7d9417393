import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisCommander, type RedisOptions } from 'ioredis';
import type { QueueConfig } from '../config/pushgate.config';

/**
 * A connection to the queue's Redis: one server, found directly or through Sentinel, or a Redis Cluster. What the
 * two ioredis classes have in common (`Redis | Cluster` itself cannot be called: their overloads differ).
 */
export type RedisConnection = RedisCommander &
  Pick<Redis, 'connect' | 'quit' | 'disconnect' | 'defineCommand' | 'pipeline' | 'multi'> &
  Pick<EventEmitter, 'on'> & { readonly status: string };

export type RedisTopology = 'single' | 'sentinel' | 'cluster';

export function redisTopology(queue: QueueConfig): RedisTopology {
  if (queue.redis_cluster_nodes !== '') return 'cluster';
  if (queue.redis_sentinels !== '') return 'sentinel';
  return 'single';
}

/** `host:port,[v6 address]:port` as a list of addresses. */
export function redisAddresses(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '')
    .map((address) => {
      const colon = address.lastIndexOf(':');
      return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
    });
}

const retryStrategy = (times: number): number => Math.min(times * 200, 2000);

/**
 * One connection to the queue's Redis as configured: `queue.redis_url`, or the primary that `queue.redis_sentinels`
 * name (followed across failovers), or the Cluster behind `queue.redis_cluster_nodes`. Not connected yet.
 */
export function createRedisConnection(queue: QueueConfig, name: string): RedisConnection {
  const tls: ConnectionOptions = queue.redis_ca_path ? { ca: readFileSync(queue.redis_ca_path, 'utf8') } : {};
  const node: RedisOptions = {
    // Fail at once while disconnected: a request must get its 503 now, not hang until Redis is back.
    maxRetriesPerRequest: 1,
    connectionName: name,
    ...(queue.redis_username ? { username: queue.redis_username } : {}),
    ...(queue.redis_password ? { password: queue.redis_password } : {}),
  };
  const topology = redisTopology(queue);
  if (topology === 'cluster') {
    return new Cluster(redisAddresses(queue.redis_cluster_nodes), {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...node, ...(queue.redis_tls ? { tls } : {}) },
      // TLS clusters (ElastiCache, MemoryDB) announce host names their certificates name: connect by name.
      ...(queue.redis_tls
        ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }
        : {}),
    });
  }
  const standalone: RedisOptions = {
    ...node,
    enableOfflineQueue: false,
    retryStrategy,
    lazyConnect: true,
    // A primary demoted under an open connection (a failover behind a DNS name or Sentinel) refuses writes with
    // READONLY: reconnect, which finds the new primary; the refused command failed whole and its request gets a 503.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  if (topology === 'sentinel') {
    return new Redis({
      ...standalone,
      sentinels: redisAddresses(queue.redis_sentinels),
      name: queue.redis_sentinel_master,
      ...(queue.redis_sentinel_password ? { sentinelPassword: queue.redis_sentinel_password } : {}),
      ...(queue.redis_sentinel_tls ? { sentinelTLS: tls } : {}),
      ...(queue.redis_tls ? { tls, enableTLSForSentinelMode: true } : {}),
      // Listens for the sentinels' +switch-master, so the connection moves as soon as a new primary is elected.
      failoverDetector: true,
    });
  }
  return new Redis(queue.redis_url, { ...standalone, ...(queue.redis_ca_path || queue.redis_tls ? { tls } : {}) });
}

const keySlots = new Map<string, number>();

/**
 * The connection to the server that holds `key`. Commands without a key (PING, WAIT, CLIENT) go to any node of a
 * Cluster; sent here they reach the node, and for WAIT the very connection, that the key's commands use.
 */
export async function nodeOf(connection: RedisConnection, key: string): Promise<RedisConnection> {
  if (!(connection instanceof Cluster)) return connection;
  let slot = keySlots.get(key);
  if (slot === undefined) {
    slot = await connection.cluster('KEYSLOT', key);
    keySlots.set(key, slot);
  }
  const owner = connection.slots[slot]?.[0];
  const node = connection.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new Error(`no cluster node serves slot ${slot}`);
  return node;
}

/**
 * Redis `WAIT`: confirms that `replicas` replicas hold every write made so far on the connection that holds `key`.
 * Callers that ask in the same turn share one WAIT, sent after each of their writes was answered.
 */
export class ReplicaAck {
  private next?: Promise<void>;

  constructor(
    private readonly connection: RedisConnection,
    private readonly key: string,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once enough replicas acknowledged; rejects when fewer did within the timeout. */
  confirm(): Promise<void> {
    if (this.replicas === 0) return Promise.resolve();
    this.next ??= Promise.resolve().then(async () => {
      this.next = undefined;
      const acknowledged = await (await nodeOf(this.connection, this.key)).wait(this.replicas, this.timeoutMs);
      if (acknowledged < this.replicas) {
        throw new Error(`${acknowledged} of ${this.replicas} replicas acknowledged within ${this.timeoutMs} ms`);
      }
    });
    return this.next;
  }
}
