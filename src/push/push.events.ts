import { Injectable } from '@nestjs/common';
import type { Platform } from './push.dto';
import type { Push } from './push.queue';

/** How one push ended. */
export type PushOutcome = { ok: true } | { ok: false; reason: string; detail?: string };

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
 * What happens to pushes, for the features that observe them (counters, metrics, feedback, per-request results)
 * without the workers knowing about each of them. Listeners run synchronously on the hot path: keep them cheap.
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
