import { Inject, Injectable, Optional } from '@nestjs/common';
import { type PushRequestStatusDto, type PushResultDto } from './push.dto';
import { PushEvents, type PushOutcome, type SettledPush } from './push.events';
import type { QueuedNotification } from './push.queue';
import { platformName } from '../notification/notification.dto';

export interface PushResultsLimits {
  /** How long a request's counts stay answerable, from its acceptance. */
  ttlMs: number;
  /** Requests remembered at most; the oldest is forgotten first. */
  maxRequests: number;
}

/** About 250 bytes a request: 100,000 requests stay under 25 MB whatever their size in pushes. */
export const DEFAULT_RESULTS_LIMITS: PushResultsLimits = { ttlMs: 10 * 60_000, maxRequests: 100_000 };
export const PUSH_RESULTS_LIMITS = Symbol('PUSH_RESULTS_LIMITS');

/** `POST /push?wait=true`: default and longest wait, in seconds. */
export const WAIT_DEFAULT_SECONDS = 10;
export const WAIT_MAX_SECONDS = 60;

interface RequestRecord {
  readonly acceptedAt: number;
  readonly queued: number;
  succeeded: number;
  failedTotal: number;
  /** Created on the first failure: most requests never need it. */
  failed?: Record<string, number>;
}

/** A caller waiting for every outcome of its request: the only case where results are kept per push. */
interface Waiter {
  readonly outcomes: Map<string, PushOutcome>;
  readonly queued: number;
  readonly finished: () => void;
}

/**
 * Per-request outcome counts for `GET /push/{id}`, bounded in time and number, and per-push outcomes for the
 * callers that asked to wait. Fed by the settled-push events, so the dispatcher knows nothing of it.
 */
@Injectable()
export class PushResults {
  /** In acceptance order, so the oldest entries (the first to expire) sit at the head. */
  private readonly requests = new Map<string, RequestRecord>();
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    events: PushEvents,
    @Optional() @Inject(PUSH_RESULTS_LIMITS) private readonly limits: PushResultsLimits = DEFAULT_RESULTS_LIMITS,
  ) {
    events.onSettled((event) => this.settled(event));
  }

  /** Requests remembered right now. */
  get size(): number {
    return this.requests.size;
  }

  /** Starts counting a request's outcomes; called before its pushes are queued so that none is missed. */
  track(requestId: string, queued: number, acceptedAt: number): void {
    this.expire(acceptedAt);
    while (this.requests.size >= this.limits.maxRequests) this.requests.delete(this.requests.keys().next().value!);
    this.requests.set(requestId, { acceptedAt, queued, succeeded: 0, failedTotal: 0 });
  }

  /** The request was refused after all: nothing of it was queued. */
  forget(requestId: string): void {
    this.requests.delete(requestId);
    this.waiters.get(requestId)?.finished();
    this.waiters.delete(requestId);
  }

  status(requestId: string, now = Date.now()): PushRequestStatusDto | undefined {
    this.expire(now);
    const record = this.requests.get(requestId);
    if (!record) return undefined;
    const pending = record.queued - record.succeeded - record.failedTotal;
    return {
      request_id: requestId,
      accepted_at: new Date(record.acceptedAt).toISOString(),
      queued: record.queued,
      succeeded: record.succeeded,
      failed: { ...record.failed },
      pending,
      done: pending === 0,
    };
  }

  /**
   * Registers a waiter for every push of the request; `collect` then resolves with each token's result once all
   * have ended or the timeout passes, whichever comes first.
   */
  expect(requestId: string, queued: number): { collect(notifications: QueuedNotification[], timeoutMs: number): Promise<PushResultDto[]> } {
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const waiter: Waiter = { outcomes: new Map(), queued, finished };
    this.waiters.set(requestId, waiter);
    return {
      collect: async (notifications, timeoutMs) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          if (waiter.outcomes.size < queued) {
            await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
          }
        } finally {
          clearTimeout(timer);
          this.waiters.delete(requestId);
        }
        return results(notifications, waiter.outcomes);
      },
    };
  }

  private settled(event: SettledPush): void {
    const requestId = event.push.notification.requestId;
    if (requestId === undefined) return;
    const record = this.requests.get(requestId);
    if (record) {
      if (event.outcome.ok) {
        record.succeeded++;
      } else {
        record.failedTotal++;
        record.failed ??= {};
        record.failed[event.outcome.reason] = (record.failed[event.outcome.reason] ?? 0) + 1;
      }
    }
    if (this.waiters.size === 0) return;
    const waiter = this.waiters.get(requestId);
    if (!waiter) return;
    waiter.outcomes.set(event.id, event.outcome);
    if (waiter.outcomes.size >= waiter.queued) waiter.finished();
  }

  private expire(now: number): void {
    for (const [id, record] of this.requests) {
      if (record.acceptedAt + this.limits.ttlMs > now) return;
      this.requests.delete(id);
    }
  }
}

function results(notifications: QueuedNotification[], outcomes: Map<string, PushOutcome>): PushResultDto[] {
  const list: PushResultDto[] = [];
  for (const n of notifications) {
    const platform = platformName(n.platform);
    n.dto.token.forEach((token, i) => {
      const outcome = outcomes.get(n.idPrefix + i);
      if (!outcome) list.push({ token, platform, status: 'pending', reason: null });
      else if (outcome.ok) list.push({ token, platform, status: 'succeeded', reason: null });
      else list.push({ token, platform, status: 'failed', reason: outcome.reason });
    });
  }
  return list;
}
