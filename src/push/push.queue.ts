import { Inject, Injectable } from '@nestjs/common';
import type { IBackoff } from 'cockatiel';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import type { ApnsMessage } from '../apns/apns.client';
import type { PreparedFcmMessage } from '../fcm/fcm.client';
import type { NotificationDto, Platform } from '../notification/notification.dto';

/** One accepted notification: what every one of its pushes shares. */
export interface QueuedNotification {
  readonly dto: NotificationDto;
  readonly platform: Platform;
  /** The app whose credentials send it (`DEFAULT_APP` when the request named none). */
  readonly app: string;
  readonly apns?: ApnsMessage;
  readonly fcm?: PreparedFcmMessage;
  /** Push ids are `<idPrefix><index of the token>`. */
  readonly idPrefix: string;
  /** When the request was accepted (ms since the epoch). */
  readonly acceptedAt: number;
  /** The accepting request's id, for per-request results (`GET /push/{id}`). */
  readonly requestId?: string;
  /** Bytes each of its pushes gives back to the memory budget when it ends; set while the budget holds them. */
  budgetShare?: number;
}

/** How one push ended: the outcome every record of it follows from (see `PushEvents`). */
export type PushOutcome = { ok: true } | { ok: false; reason: string; detail?: string };

/** One token of one notification: the unit that is sent, retried and counted. */
export interface Push {
  readonly notification: QueuedNotification;
  readonly index: number;
  attempt: number;
  /** Backoff state, present once the push has been retried. */
  backoff?: IBackoff<unknown>;
}

export function pushToken(push: Push): string {
  return push.notification.dto.token[push.index];
}

export function pushId(push: Push): string {
  return push.notification.idPrefix + push.index;
}

/** How many more pushes of an app may start now. */
export type AppRoom = (app: string) => number;

/**
 * Where accepted pushes wait for a worker: the contract every queue backend fulfils. The backend is chosen where the
 * application is composed (`PushModule.forRoot({ queue })`): in memory by default, or a shared, durable one (Redis).
 * Every operation may complete asynchronously, and a durable queue keeps what a stopping gateway hands back.
 */
export abstract class PushQueue {
  /** How many pushes the queue holds at most. */
  abstract readonly capacity: number;
  /** Pushes waiting, including those handed back for a retry (for a shared queue, the last known figure). */
  abstract readonly size: number;
  /** True when pushes survive this process: unfinished work is then handed back instead of failed. */
  abstract readonly durable: boolean;
  /** Admits every push of these notifications, or none of them when they do not all fit. */
  abstract offer(notifications: QueuedNotification[]): boolean | Promise<boolean>;
  /**
   * Up to `max` pushes to send now; empty when there are none. With `room`, no more of an app than it has room for:
   * an app at its limit then leaves the pushes of the others free to go. A queue that cannot choose by app ignores
   * it, and the dispatcher parks what is over.
   */
  abstract take(max: number, room?: AppRoom): Push[] | Promise<Push[]>;
  /** Puts a push back for another attempt, ahead of new work; retries are never refused. */
  abstract retry(push: Push): void;
  /** The push ended with this outcome: it leaves the queue for good. Called once per push, on the hot path. */
  abstract settle(push: Push, outcome: PushOutcome): void;
  /** Removes and returns everything this process still holds locally. */
  abstract drain(): Push[];
}

interface Job {
  readonly notification: QueuedNotification;
  next: number;
}

/** One app's waiting work: its notifications in order of arrival, and its pushes back for a retry. */
interface Backlog {
  readonly app: string;
  jobs: Job[];
  head: number;
  readonly retries: Push[];
}

/**
 * In-memory queue bounded by `core.queues` pushes. It stores one entry per notification (its token array is
 * the request's own), so a queued push costs little more than its token string. Each app has its own line, served
 * in turn: an app whose provider hangs holds up only its own pushes.
 */
@Injectable()
export class MemoryPushQueue extends PushQueue {
  private readonly backlogs = new Map<string, Backlog>();
  private readonly order: Backlog[] = [];
  private turn = 0;
  private pending = 0;
  private retrying = 0;

  readonly durable = false;
  readonly capacity: number;

  constructor(@Inject(CORE_CONFIG) core: CoreConfig) {
    super();
    this.capacity = core.queues;
  }

  get size(): number {
    return this.pending + this.retrying;
  }

  offer(notifications: QueuedNotification[]): boolean {
    let count = 0;
    for (const n of notifications) count += n.dto.token.length;
    if (this.size + count > this.capacity) return false;
    for (const notification of notifications) this.backlog(notification.app).jobs.push({ notification, next: 0 });
    this.pending += count;
    return true;
  }

  take(max: number, room?: AppRoom): Push[] {
    const pushes: Push[] = [];
    const apps = this.order.length;
    for (let i = 0; i < apps && pushes.length < max; i++) {
      const backlog = this.order[(this.turn + i) % apps];
      let budget = Math.min(max - pushes.length, room ? room(backlog.app) : Infinity);
      for (; budget > 0; budget--) {
        const push = this.next(backlog);
        if (!push) break;
        pushes.push(push);
      }
    }
    if (apps > 0) this.turn = (this.turn + 1) % apps;
    return pushes;
  }

  private backlog(app: string): Backlog {
    let backlog = this.backlogs.get(app);
    if (!backlog) {
      backlog = { app, jobs: [], head: 0, retries: [] };
      this.backlogs.set(app, backlog);
      this.order.push(backlog);
    }
    return backlog;
  }

  private next(backlog: Backlog): Push | undefined {
    const retry = backlog.retries.pop();
    if (retry) {
      this.retrying--;
      return retry;
    }
    const job = backlog.jobs[backlog.head];
    if (!job) return undefined;
    const push: Push = { notification: job.notification, index: job.next++, attempt: 0 };
    this.pending--;
    if (job.next === job.notification.dto.token.length) {
      backlog.jobs[backlog.head++] = undefined as unknown as Job;
      if (backlog.head > 1024 && backlog.head * 2 > backlog.jobs.length) {
        backlog.jobs = backlog.jobs.slice(backlog.head);
        backlog.head = 0;
      }
    }
    return push;
  }

  retry(push: Push): void {
    this.backlog(push.notification.app).retries.push(push);
    this.retrying++;
  }

  settle(): void {
    // Nothing to acknowledge: a taken push is no longer held here.
  }

  drain(): Push[] {
    const left: Push[] = [];
    for (const backlog of this.order) {
      for (let push = this.next(backlog); push; push = this.next(backlog)) left.push(push);
    }
    return left;
  }
}
