import { getHeapStatistics } from 'node:v8';
import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import { PushEvents } from './push.events';
import type { QueuedNotification } from './push.queue';

/** Seconds a client should wait before retrying a request refused by the memory budget. */
export const MEMORY_BUDGET_RETRY_AFTER = 1;

/**
 * Share of V8's heap limit that `core.memory_budget = 0` allows for accepted pushes. The rest is the gateway itself
 * (about 40 MB), requests being read and parsed, and the garbage a burst leaves between two collections, which
 * measured as large again as what the pushes retain.
 */
export const AUTO_BUDGET_HEAP_SHARE = 0.25;

/**
 * Bytes one accepted notification is charged, besides its pushes, until its last push ends: the parsed notification,
 * its prepared APNs or FCM message (serialised once), the headers its pushes share and the queue's entry. An estimate
 * set against the measurements in docs/memory.md.
 */
export const NOTIFICATION_BYTES = 4096;

/**
 * Bytes each push is charged besides its token's characters: its slot in the array, the push object while it is
 * sent, its journal line and result while they are written. With a 64-character token, more than the 208-427 bytes
 * a queued push was measured to retain (docs/memory.md).
 */
export const PUSH_BYTES = 512;

export class MemoryBudgetException extends ServiceUnavailableException {
  readonly retryAfterSeconds = MEMORY_BUDGET_RETRY_AFTER;
}

/** The budget `core.memory_budget` configures: itself when set, else a share of the heap limit V8 runs with. */
export function memoryBudgetBytes(configured: number, heapLimit = getHeapStatistics().heap_size_limit): number {
  return configured > 0 ? configured : Math.floor(heapLimit * AUTO_BUDGET_HEAP_SHARE);
}

/**
 * What each push of an accepted notification is estimated to hold in memory until it ends: its token and its share
 * of the notification, in whole bytes so that the shares add up exactly.
 */
export function bytesPerPush(n: QueuedNotification): number {
  const { dto } = n;
  let bytes = NOTIFICATION_BYTES + 2 * (dto.message?.length ?? 0);
  for (const token of dto.token) bytes += PUSH_BYTES + token.length;
  return Math.ceil(bytes / dto.token.length);
}

/**
 * The bytes accepted pushes hold, against the budget (`core.memory_budget`). A request is admitted whole or refused
 * whole, before anything of it is recorded; what it reserved is given back push by push as they settle. A durable
 * queue holds its pushes outside the process: its requests give their reservation back once they are queued.
 */
@Injectable()
export class MemoryBudget {
  readonly limit: number;
  private held = 0;
  /** Requests refused because they would have gone over the budget. */
  refused = 0;

  constructor(@Inject(CORE_CONFIG) core: CoreConfig, events: PushEvents) {
    this.limit = memoryBudgetBytes(core.memory_budget);
    // The share travels on the notification rather than in a map keyed by it: one lookup less per push, and no
    // weak table for the collector to sweep.
    events.onSettled(({ push }) => {
      const share = push.notification.budgetShare;
      if (share !== undefined) this.release(share);
    });
  }

  /** Bytes reserved by accepted pushes that have not ended yet. */
  get used(): number {
    return this.held;
  }

  /**
   * Reserves what these notifications hold, or throws {@link MemoryBudgetException} (and reserves nothing) when that
   * would take the total over the budget. Returns the bytes reserved, for {@link release} should the request fail.
   */
  admit(notifications: readonly QueuedNotification[]): number {
    let bytes = 0;
    for (const n of notifications) {
      n.budgetShare = bytesPerPush(n);
      bytes += n.budgetShare * n.dto.token.length;
    }
    if (this.held + bytes > this.limit) {
      for (const n of notifications) n.budgetShare = undefined;
      this.refused++;
      throw new MemoryBudgetException({
        message: `memory budget exceeded (${mib(this.held)} of ${mib(this.limit)} held, this request needs ${mib(bytes)}); retry later`,
      });
    }
    this.held += bytes;
    return bytes;
  }

  /** Gives back the reservation of notifications whose pushes will not settle here (refused, or queued elsewhere). */
  withdraw(notifications: readonly QueuedNotification[], bytes: number): void {
    for (const n of notifications) n.budgetShare = undefined;
    this.release(bytes);
  }

  private release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
