import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { CORE_CONFIG, QUEUE_CONFIG, type CoreConfig, type QueueConfig } from '../config/pushgate.config';
import type { NotificationDto } from '../notification/notification.dto';
import { PushPreparer } from '../push/push.preparer';
import { PushQueue, pushId, pushToken, type Push, type PushOutcome, type QueuedNotification } from '../push/push.queue';
import { createRedisConnection, nodeOf, ReplicaAck, type RedisConnection } from './redis.connection';
import { GROUP, queueKeys, type QueueKeys } from './redis.keys';
import { OFFER, RELEASE, REPLAY, SETTLE } from './redis.scripts';

/** Longest a blocking read waits before it looks again (it is woken earlier when work arrives locally). */
const BLOCK_MS = 2000;
/** Entries read at once at most: a replica should not hoard what others could send. */
const READ_MAX = 100;
const SETTLE_BATCH = 2000;
const CLAIM_BATCH = 50;

/** What one stream entry holds: a notification as accepted. */
interface StoredNotification {
  /** Push id prefix. */
  p: string;
  /** Acceptance time, ms. */
  t: number;
  /** Accepting request id. */
  r?: string;
  d: NotificationDto;
}

interface HeldEntry {
  readonly id: string;
  readonly payload: string;
  readonly notification: QueuedNotification;
  /** Pushes of the entry taken here and not yet settled in Redis. */
  open: number;
}

/** The pushes this queue hands out: each knows the stream entry it belongs to. */
interface RedisPush extends Push {
  readonly entry: HeldEntry;
  failure?: string;
}

export interface DeadLetter {
  /** Id of the dead letter (a stream id), used to replay it. */
  readonly dead_id: string;
  /** The push id it had. */
  readonly id: string;
  readonly platform: number;
  readonly token: string;
  readonly reason: string;
  readonly failed_at: string;
  readonly notification: NotificationDto;
}

type StreamEntry = [id: string, fields: string[] | null];

interface Scripts {
  pgOffer(...args: (string | number)[]): Promise<[number, number]>;
  pgSettle(...args: (string | number)[]): Promise<number>;
  pgRelease(...args: (string | number)[]): Promise<number>;
  pgReplay(...args: (string | number)[]): Promise<[number, number, string[]]>;
}

/** Raised while Redis cannot be reached: the request is refused whole and may be retried. */
export class QueueUnavailableException extends ServiceUnavailableException {
  readonly retryAfterSeconds = 1;
}

/**
 * The shared, durable queue on Redis Streams. One stream entry per accepted notification, read by all replicas
 * through one consumer group, so each entry goes to exactly one of them. An entry stays pending until every push
 * of it has ended (a bitmap in Redis records which have), so a replica that dies leaves its entries to be claimed
 * by the others after `queue.claim_idle` seconds, and they send only the pushes that had not ended. A replica
 * refreshes the idle time of what it holds, retries included. The shared depth is a counter kept exact by the
 * scripts; `size` is its last known value.
 */
@Injectable()
export class RedisPushQueue extends PushQueue implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly durable = true;
  readonly capacity: number;
  readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  private readonly logger = new Logger(RedisPushQueue.name);
  private readonly commands: RedisConnection & Scripts;
  private readonly reader: RedisConnection;
  private readonly keys: QueueKeys;
  private readonly replicaAck: ReplicaAck;
  private readonly claimIdleMs: number;
  private readonly deadTtlMs: number;

  private depth = 0;
  private readonly held = new Map<string, HeldEntry>();
  private buffered: RedisPush[] = [];
  private retries: RedisPush[] = [];
  private settling: RedisPush[] = [];
  private flushing?: Promise<void>;
  private flushTimer?: NodeJS.Timeout;
  private readerId?: number;
  private blocked = false;
  private stopping = false;
  /** Set at the final flush: a write that fails then is not tried again later, the entries are handed back. */
  private closed = false;
  /** Running mean of tokens per notification, to read about as many pushes as the workers asked for. */
  private tokensPerEntry = 10;
  private claimCursor = '0-0';
  private maintenance?: NodeJS.Timeout;
  private maintaining = false;
  private lastConsumerSweep = 0;

  constructor(
    @Inject(CORE_CONFIG) core: CoreConfig,
    @Inject(QUEUE_CONFIG) queue: QueueConfig,
    private readonly preparer: PushPreparer,
  ) {
    super();
    this.capacity = core.queues;
    this.claimIdleMs = queue.claim_idle * 1000;
    this.deadTtlMs = queue.dead_letter_ttl * 1000;
    this.keys = queueKeys(queue.redis_prefix);
    this.commands = createRedisConnection(queue, `pushgate:${this.consumer}`) as RedisConnection & Scripts;
    this.reader = createRedisConnection(queue, `pushgate:${this.consumer}`);
    this.replicaAck = new ReplicaAck(this.commands, this.keys.stream, queue.redis_wait_replicas, queue.redis_wait_timeout_ms);
    this.commands.defineCommand('pgOffer', { numberOfKeys: 2, lua: OFFER });
    this.commands.defineCommand('pgSettle', { numberOfKeys: 3, lua: SETTLE });
    this.commands.defineCommand('pgRelease', { numberOfKeys: 1, lua: RELEASE });
    this.commands.defineCommand('pgReplay', { numberOfKeys: 3, lua: REPLAY });
    for (const [name, connection] of [
      ['commands', this.commands],
      ['reader', this.reader],
    ] as const) {
      connection.on('error', (error: Error) => this.logger.debug(`redis ${name}: ${error.message}`));
    }
    this.commands.on('ready', () => void this.onReady());
    this.reader.on('ready', () => {
      nodeOf(this.reader, this.keys.stream)
        .then((node) => node.client('ID'))
        .then(
          (id) => (this.readerId = id),
          () => undefined,
        );
    });
  }

  get size(): number {
    // While stopping, only what this replica still holds matters to its drain.
    return this.stopping ? this.buffered.length + this.retries.length : this.depth;
  }

  /** True while the command connection is up. */
  get connected(): boolean {
    return this.commands.status === 'ready';
  }

  async onModuleInit(): Promise<void> {
    const connecting = Promise.all([this.commands.connect(), this.reader.connect()]);
    try {
      await connecting;
      await this.onReady();
    } catch (error) {
      // Not fatal: ioredis keeps reconnecting and readiness reports Redis down meanwhile.
      this.logger.error(`redis unreachable at start: ${(error as Error).message}`);
    }
    const period = Math.max(250, Math.min(5000, Math.floor(this.claimIdleMs / 3)));
    this.maintenance = setInterval(() => void this.maintain(), period);
    this.maintenance.unref();
    this.logger.log(`redis queue ready as consumer ${this.consumer}`);
  }

  private async onReady(): Promise<void> {
    try {
      await this.createGroup();
    } catch (error) {
      this.logger.error(`redis: creating the consumer group failed: ${(error as Error).message}`);
    }
    this.depth = Number(await this.commands.get(this.keys.depth).catch(() => this.depth)) || 0;
  }

  /** Creates the consumer group (and the stream), reading from the start of the stream; one that exists is kept. */
  private async createGroup(): Promise<void> {
    try {
      await this.commands.xgroup('CREATE', this.keys.stream, GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
  }

  /**
   * Answers a NOGROUP: the server that holds the stream has no consumer group. That is a Cluster replica promoted
   * before it had copied the queue (it starts empty, and the first push accepted there makes the stream anew, without
   * a group), or a key deleted by hand. A Cluster connection announces no reconnection when a slot changes hands, so
   * nothing else would create the group there and what is accepted from then on would never be read. Entries are
   * deleted once finished, so reading from the start of the stream reads exactly the unfinished ones.
   */
  private async restoreGroup(error: unknown): Promise<boolean> {
    if (!/^NOGROUP/.test((error as Error).message)) return false;
    this.logger.warn(
      `redis: the consumer group of ${this.keys.stream} is missing (a replica that had not copied the queue took over, or the key was deleted): creating it again`,
    );
    await this.createGroup();
    return true;
  }

  async ping(): Promise<void> {
    await (await nodeOf(this.commands, this.keys.stream)).ping();
  }

  async offer(notifications: QueuedNotification[]): Promise<boolean> {
    let count = 0;
    const payloads = notifications.map((n) => {
      count += n.dto.token.length;
      return JSON.stringify({ p: n.idPrefix, t: n.acceptedAt, r: n.requestId, d: n.dto } satisfies StoredNotification);
    });
    let reply: [number, number];
    try {
      reply = await this.commands.pgOffer(this.keys.stream, this.keys.depth, this.capacity, count, ...payloads);
      if (reply[0] === 1) await this.replicaAck.confirm();
    } catch (error) {
      this.logger.warn(`redis: offer failed: ${(error as Error).message}`);
      throw new QueueUnavailableException({ message: 'queue unavailable (Redis); retry later' });
    }
    this.depth = reply[1];
    return reply[0] === 1;
  }

  take(max: number): Push[] | Promise<Push[]> {
    if (this.stopping || this.retries.length + this.buffered.length > 0) return this.takeLocal(max);
    return this.fetch(max);
  }

  private takeLocal(max: number): Push[] {
    const pushes = this.retries.splice(0, max);
    if (pushes.length < max) pushes.push(...this.buffered.splice(0, max - pushes.length));
    return pushes;
  }

  private async fetch(max: number): Promise<Push[]> {
    let restored = false;
    while (!this.stopping && this.retries.length + this.buffered.length === 0) {
      const count = Math.min(READ_MAX, Math.max(1, Math.ceil(max / this.tokensPerEntry)));
      this.blocked = true;
      let reply: [string, StreamEntry[]][] | null;
      try {
        reply = await this.reader.xreadgroup(
          'GROUP',
          GROUP,
          this.consumer,
          'COUNT',
          count,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.keys.stream,
          '>',
        );
      } catch (error) {
        // Once per take: should the group still be missing, the dispatcher takes again after a pause.
        if (!restored && (await this.restoreGroup(error))) {
          restored = true;
          continue;
        }
        throw error;
      } finally {
        this.blocked = false;
      }
      if (reply) await this.hold(reply[0][1], false);
    }
    return this.takeLocal(max);
  }

  /** Ends a blocking read early, so that work that arrived locally (a retry, claimed entries) is taken now. */
  private wake(): void {
    if (!this.blocked || this.readerId === undefined) return;
    const id = this.readerId;
    nodeOf(this.commands, this.keys.stream)
      .then((node) => node.client('UNBLOCK', id))
      .catch(() => undefined);
  }

  /** Turns entries read or claimed into pushes, leaving out those a previous holder already ended. */
  private async hold(entries: StreamEntry[], claimed: boolean): Promise<void> {
    const live = entries.filter((e): e is [string, string[]] => e[1] !== null && !this.held.has(e[0]));
    const parsed = live.map(([id, fields]) => {
      const payload = fields[fields.indexOf('n') + 1];
      return { id, payload, stored: JSON.parse(payload) as StoredNotification, seen: claimed || fields.includes('r') };
    });
    const seen = parsed.filter((e) => e.seen);
    const bitmaps = new Map<string, Buffer | null>();
    if (seen.length > 0) {
      const pipeline = this.commands.pipeline();
      for (const e of seen) pipeline.getBuffer(this.keys.done + e.stored.p);
      const results = (await pipeline.exec()) ?? [];
      seen.forEach((e, i) => bitmaps.set(e.id, (results[i]?.[1] as Buffer | null) ?? null));
    }
    const finished: string[] = [];
    for (const { id, payload, stored } of parsed) {
      const notification = this.preparer.prepare(stored.d, stored.p, stored.t, stored.r);
      const entry: HeldEntry = { id, payload, notification, open: 0 };
      const done = bitmaps.get(id);
      const tokens = stored.d.token.length;
      this.tokensPerEntry = this.tokensPerEntry * 0.8 + tokens * 0.2;
      for (let index = 0; index < tokens; index++) {
        if (done && index >> 3 < done.length && (done[index >> 3] >> (7 - (index & 7))) & 1) continue;
        this.buffered.push({ notification, index, attempt: 0, entry });
        entry.open++;
      }
      if (entry.open > 0) this.held.set(id, entry);
      else finished.push(id);
    }
    if (finished.length > 0)
      await this.commands
        .multi()
        .xack(this.keys.stream, GROUP, ...finished)
        .xdel(this.keys.stream, ...finished)
        .exec();
  }

  retry(push: Push): void {
    this.retries.push(push as RedisPush);
    this.wake();
  }

  settle(push: Push, outcome: PushOutcome): void {
    const own = push as RedisPush;
    if (!outcome.ok) own.failure = outcome.reason;
    this.settling.push(own);
    // Written after the current turn, together with whatever else settles in it.
    this.scheduleFlush(0);
  }

  private scheduleFlush(delayMs: number): void {
    if (this.closed) return;
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delayMs);
  }

  /** Writes settled pushes to Redis; on failure they wait and are written again (settling is idempotent). */
  private flush(): Promise<void> {
    // Cleared in a callback, never inside the write itself: when there is nothing to write it completes at once,
    // and clearing it there, before `??=` stores the promise, would leave a settled promise in place for good.
    this.flushing ??= this.writeSettled().finally(() => {
      this.flushing = undefined;
      // Settled while the last batch was being written, after the loop looked.
      if (this.settling.length > 0 && !this.stopping) this.scheduleFlush(0);
    });
    return this.flushing;
  }

  private async writeSettled(): Promise<void> {
    try {
      while (this.settling.length > 0) {
        const batch = this.settling.slice(0, SETTLE_BATCH);
        const deadMinId = `${Date.now() - this.deadTtlMs}-0`;
        const args: (string | number)[] = [GROUP, this.keys.done, deadMinId];
        for (const push of batch) {
          const { entry } = push;
          args.push(entry.id, entry.notification.idPrefix, push.index, entry.notification.dto.token.length, push.failure ?? '');
          args.push(push.failure === undefined ? '' : deadRecord(push));
        }
        this.depth = await this.commands.pgSettle(this.keys.stream, this.keys.depth, this.keys.dead, ...args);
        this.settling.splice(0, batch.length);
        for (const { entry } of batch) {
          if (--entry.open === 0) this.held.delete(entry.id);
        }
      }
    } catch (error) {
      this.logger.warn(
        `redis: settling ${this.settling.length} pushes failed${this.closed ? '' : ', retrying'}: ${(error as Error).message}`,
      );
      this.scheduleFlush(500);
    }
  }

  drain(): Push[] {
    const left = [...this.retries, ...this.buffered];
    this.retries = [];
    this.buffered = [];
    return left;
  }

  /** Keeps what this replica holds from being claimed, claims what dead replicas left, trims dead letters. */
  private async maintain(): Promise<void> {
    if (this.maintaining || !this.connected) return;
    this.maintaining = true;
    try {
      const ids = [...this.held.keys()];
      for (let i = 0; i < ids.length; i += 1000) {
        await this.commands.xclaim(this.keys.stream, GROUP, this.consumer, 0, ...ids.slice(i, i + 1000), 'JUSTID');
      }
      this.depth = Number(await this.commands.get(this.keys.depth)) || 0;
      if (!this.stopping && this.buffered.length === 0) await this.claim();
      await this.commands.xtrim(this.keys.dead, 'MINID', `${Date.now() - this.deadTtlMs}-0`);
      if (Date.now() - this.lastConsumerSweep > 60_000) await this.sweepConsumers();
    } catch (error) {
      this.logger.debug(`redis maintenance: ${(error as Error).message}`);
      await this.restoreGroup(error).catch(() => undefined);
    } finally {
      this.maintaining = false;
    }
  }

  private async claim(): Promise<void> {
    const [next, entries] = (await this.commands.xautoclaim(
      this.keys.stream,
      GROUP,
      this.consumer,
      this.claimIdleMs,
      this.claimCursor,
      'COUNT',
      CLAIM_BATCH,
    )) as [string, StreamEntry[]];
    this.claimCursor = next;
    if (entries.length === 0) return;
    await this.hold(entries, true);
    this.logger.warn(`redis: claimed ${entries.length} notifications left unfinished by another gateway`);
    this.wake();
  }

  /** Consumers of stopped gateways stay in the group; forget those that hold nothing. */
  private async sweepConsumers(): Promise<void> {
    this.lastConsumerSweep = Date.now();
    const consumers = (await this.commands.xinfo('CONSUMERS', this.keys.stream, GROUP)) as unknown[][];
    for (const fields of consumers) {
      const info = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [String(fields[2 * i]), fields[2 * i + 1]]));
      if (info.name !== this.consumer && info.pending === 0 && Number(info.idle) > 10 * this.claimIdleMs) {
        await this.commands.xgroup('DELCONSUMER', this.keys.stream, GROUP, info.name as string);
      }
    }
  }

  /** Dead letters, oldest first, newer than `dead_letter_ttl`; `after` continues a listing. */
  async deadLetters(count: number, after?: string): Promise<{ items: DeadLetter[]; next?: string }> {
    const cutoff = `${Date.now() - this.deadTtlMs}-0`;
    const start = after && compareIds(after, cutoff) >= 0 ? `(${after}` : cutoff;
    const entries = (await this.commands.xrange(this.keys.dead, start, '+', 'COUNT', count)) as [string, string[]][];
    const items = entries.map(([deadId, fields]) => toDeadLetter(deadId, fields));
    return { items, next: entries.length === count ? entries[entries.length - 1][0] : undefined };
  }

  /**
   * Queues the chosen dead letters again as new pushes (id `<old id>-r0`), all or none against the capacity.
   * Returns the letters this call moved: of calls racing for the same letter, only the one that moved it names it.
   */
  async replay(deadIds: string[]): Promise<{ admitted: boolean; replayed: DeadLetter[] }> {
    const found: { deadId: string; letter: DeadLetter }[] = [];
    for (const deadId of new Set(deadIds)) {
      const entries = (await this.commands.xrange(this.keys.dead, deadId, deadId)) as [string, string[]][];
      if (entries.length === 1) found.push({ deadId, letter: toDeadLetter(deadId, entries[0][1]) });
    }
    if (found.length === 0) return { admitted: true, replayed: [] };
    const now = Date.now();
    const args: (string | number)[] = [this.capacity];
    for (const { deadId, letter } of found) {
      args.push(deadId, JSON.stringify({ p: `${letter.id}-r`, t: now, d: letter.notification } satisfies StoredNotification));
    }
    const [admitted, depth, moved] = await this.commands.pgReplay(this.keys.stream, this.keys.depth, this.keys.dead, ...args);
    this.depth = depth;
    if (admitted !== 1) return { admitted: false, replayed: [] };
    const movedIds = new Set(moved);
    return { admitted: true, replayed: found.filter((f) => movedIds.has(f.deadId)).map((f) => f.letter) };
  }

  /** Stops reading new work; what is held locally is still sent until the workers' drain ends. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    this.wake();
  }

  /** Writes what settled, hands every unfinished entry back to the stream, closes the connections. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.closed = true;
    clearInterval(this.maintenance);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushing;
    await this.flush();
    const unfinished = [...this.held.values()];
    if (unfinished.length > 0 && this.connected) {
      try {
        const released = await this.commands.pgRelease(this.keys.stream, GROUP, ...unfinished.flatMap((e) => [e.id, e.payload]));
        this.logger.log(`redis: handed ${released} unfinished notifications back to the queue`);
      } catch (error) {
        this.logger.error(`redis: handing back failed, other gateways will claim them: ${(error as Error).message}`);
      }
    }
    this.held.clear();
    this.reader.disconnect();
    await this.commands.quit().catch(() => this.commands.disconnect());
  }
}

function deadRecord(push: RedisPush): string {
  const { dto } = push.notification;
  return JSON.stringify({ id: pushId(push), d: { ...dto, token: [pushToken(push)] } });
}

function toDeadLetter(deadId: string, fields: string[]): DeadLetter {
  const reason = fields[fields.indexOf('reason') + 1];
  const record = JSON.parse(fields[fields.indexOf('push') + 1]) as { id: string; d: NotificationDto };
  return {
    dead_id: deadId,
    id: record.id,
    platform: record.d.platform,
    token: record.d.token[0],
    reason,
    failed_at: new Date(Number(deadId.split('-')[0])).toISOString(),
    notification: record.d,
  };
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}
