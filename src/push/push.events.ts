import { Injectable } from '@nestjs/common';
import type { Platform } from '../notification/notification.dto';
import type { Push, PushOutcome } from './push.queue';

export type { PushOutcome } from './push.queue';

export interface SettledPush {
  readonly push: Push;
  readonly id: string;
  readonly platform: Platform;
  /** The full device token: listeners decide what to expose. */
  readonly token: string;
  readonly outcome: PushOutcome;
  /** Seconds the last attempt took. */
  readonly ptime: number;
}

export interface RetriedPush {
  readonly push: Push;
  readonly platform: Platform;
  readonly reason: string;
  readonly delayMs: number;
}

type Listener<T> = (event: T) => void;

/**
 * What happens to pushes. The dispatcher emits one `settled` event per push when it ends, and every record of it follows
 * from that event alone: the journal's line, the counters, the metrics, the per-request results, the invalid-token
 * feedback and the queue's acknowledgement. Listeners run synchronously on the hot path: keep them cheap, and keep
 * their failures to themselves.
 */
@Injectable()
export class PushEvents {
  private readonly settled: Listener<SettledPush>[] = [];
  private readonly retried: Listener<RetriedPush>[] = [];

  onSettled(listener: Listener<SettledPush>): void {
    this.settled.push(listener);
  }

  onRetried(listener: Listener<RetriedPush>): void {
    this.retried.push(listener);
  }

  emitSettled(event: SettledPush): void {
    for (const listener of this.settled) listener(event);
  }

  emitRetried(event: RetriedPush): void {
    for (const listener of this.retried) listener(event);
  }
}
