import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { AppsSettings, CORE_CONFIG, type AppConfig, type CoreConfig } from '../config/pushgate.config';
import { ProviderRegistry } from '../provider/provider.registry';
import type { SendResult } from '../provider/provider.result';
import { SendRetryPolicy } from '../provider/provider.retry';
import { PushEvents } from './push.events';
import { pushId, PushQueue, pushToken, type Push, type PushOutcome } from './push.queue';

/** Sends started in one turn of the event loop at most. */
const START_BATCH = 64;

/**
 * One app's share of the senders. The queue hands out no more of an app than it has room for; a queue that cannot
 * choose (Redis) hands out what comes, and a push of an app at its limit is parked while the other apps' go on.
 */
interface AppLane {
  readonly config: AppConfig;
  active: number;
  readonly parked: Push[];
}

/**
 * Takes pushes from the queue and sends them with bounded concurrency (`core.workers` x (`core.pusher_max` + 1),
 * adjustable at run time), retries retryable failures with exponential backoff and jitter, and settles every
 * push as succeeded or failed: one settled event, from which the queue, the journal, the counters and the other
 * records follow.
 */
@Injectable()
export class PushDispatcher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PushDispatcher.name);
  private readonly inFlight = new Set<Push>();
  private readonly waitingRetry = new Map<Push, NodeJS.Timeout>();
  private readonly lanes = new Map<string, AppLane>();
  private parkedCount = 0;
  #pusherMax: number;
  private draining = false;
  private taking = false;
  private woken = false;
  private stopped = false;

  constructor(
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    apps: AppsSettings,
    private readonly queue: PushQueue,
    private readonly events: PushEvents,
    private readonly providers: ProviderRegistry,
    private readonly retryPolicy: SendRetryPolicy,
  ) {
    this.#pusherMax = core.pusher_max;
    for (const [name, app] of Object.entries(apps.current())) this.lanes.set(name, { config: app, active: 0, parked: [] });
    events.onSettled(({ push, outcome }) => queue.settle(push, outcome));
  }

  /**
   * Sends one app may have in flight: its `in_flight_max`, else three quarters of the total when several apps
   * share the gateway (so a hanging provider leaves the others a quarter at least), else all of it.
   */
  inFlightMax(lane: AppLane): number {
    if (lane.config.in_flight_max > 0) return lane.config.in_flight_max;
    return this.lanes.size > 1 ? Math.max(1, Math.floor((this.concurrency * 3) / 4)) : Infinity;
  }

  /** How many more sends an app may start now (any number for an app the dispatcher does not know). */
  private readonly room = (app: string): number => {
    const lane = this.lanes.get(app);
    return lane ? Math.max(0, this.inFlightMax(lane) - lane.active) : Infinity;
  };

  /** Sends in flight and pushes parked at the app's limit, by app. */
  appActivity(): Record<string, { in_flight: number; parked: number }> {
    const activity: Record<string, { in_flight: number; parked: number }> = {};
    for (const [name, lane] of this.lanes) activity[name] = { in_flight: lane.active, parked: lane.parked.length };
    return activity;
  }

  /** Pushes taken from the queue but waiting for their app to drop below its limit. */
  get parked(): number {
    return this.parkedCount;
  }

  get concurrency(): number {
    return this.core.workers * (this.#pusherMax + 1);
  }

  /** `pusher_max` as Gaurun reported it in `/stat/app`: `core.pusher_max x core.workers`. */
  get pusherMaxTotal(): number {
    return this.#pusherMax * this.core.workers;
  }

  /** `core.pusher_max`, or the value `PUT /config/pushers` set since. */
  get pusherMax(): number {
    return this.#pusherMax;
  }

  /** Pushes being sent right now. */
  get active(): number {
    return this.inFlight.size;
  }

  /** Pushes waiting for their next attempt. */
  get retrying(): number {
    return this.waitingRetry.size;
  }

  /** False once shutdown has begun: no new work is accepted. */
  get accepting(): boolean {
    return !this.draining;
  }

  setPusherMax(max: number): void {
    this.#pusherMax = max;
    this.pump();
  }

  /**
   * Starts sends up to the concurrency, at most {@link START_BATCH} in one turn of the event loop: starting a send
   * costs tens of microseconds, and hundreds at once would hold up the requests waiting to be accepted.
   */
  pump(): void {
    if (this.stopped || this.taking) return;
    if (this.parkedCount > 0) this.unpark();
    const free = Math.min(this.concurrency - this.inFlight.size, START_BATCH);
    // Parked pushes are bounded too: past one concurrency's worth, new work waits in the queue.
    if (free <= 0 || this.parkedCount >= this.concurrency) return;
    const taken = this.queue.take(free, this.room);
    if (Array.isArray(taken)) {
      const parked = this.start(taken);
      // Parked pushes left senders free: take on, so that other apps' pushes behind them are not held up.
      if ((taken.length === free && free === START_BATCH) || (parked > 0 && taken.length === free)) this.wake();
      return;
    }
    this.taking = true;
    taken
      .then((pushes) => {
        this.taking = false;
        this.start(pushes);
        if (pushes.length > 0) this.pump();
      })
      .catch((error: unknown) => {
        this.taking = false;
        this.logger.error(`taking from the queue failed: ${(error as Error).message}`);
        setTimeout(() => this.pump(), 1000).unref();
      });
  }

  /** Pumps on the next turn of the event loop, after pending I/O such as the response to the request that queued. */
  wake(): void {
    if (this.woken) return;
    this.woken = true;
    setImmediate(() => {
      this.woken = false;
      this.pump();
    });
  }

  /** Starts the pushes whose app is below its limit, parks the others; returns how many were parked. */
  private start(pushes: Push[]): number {
    let parked = 0;
    for (const push of pushes) {
      const lane = this.lanes.get(push.notification.app);
      if (lane && lane.active >= this.inFlightMax(lane)) {
        lane.parked.push(push);
        this.parkedCount++;
        parked++;
        continue;
      }
      if (lane) lane.active++;
      this.inFlight.add(push);
      void this.send(push);
    }
    return parked;
  }

  /** Starts parked pushes of apps now below their limit, oldest first, within the free concurrency. */
  private unpark(): void {
    for (const lane of this.lanes.values()) {
      const limit = this.inFlightMax(lane);
      while (lane.parked.length > 0 && lane.active < limit && this.inFlight.size < this.concurrency) {
        const push = lane.parked.shift()!;
        this.parkedCount--;
        lane.active++;
        this.inFlight.add(push);
        void this.send(push);
      }
    }
  }

  private async send(push: Push): Promise<void> {
    const started = performance.now();
    const token = pushToken(push);
    const { notification } = push;
    const result = await this.providers.of(notification.platform).send(notification.app, token, notification, pushId(push));
    if (!this.inFlight.delete(push)) return;
    const lane = this.lanes.get(notification.app);
    if (lane) lane.active--;
    this.settle(push, result, Math.round(performance.now() - started) / 1000);
    this.pump();
  }

  private settle(push: Push, result: SendResult, ptime: number): void {
    const { platform, app } = push.notification;
    if (result.ok) {
      this.ended(push, result, ptime);
      return;
    }
    const backoff = this.retryPolicy.next(platform, app, result, push.attempt, push.backoff);
    if (backoff) {
      push.attempt++;
      push.backoff = backoff;
      const delay = backoff.duration;
      this.events.emitRetried({ push, platform, reason: result.reason, delayMs: delay });
      this.waitingRetry.set(
        push,
        setTimeout(() => {
          this.waitingRetry.delete(push);
          this.queue.retry(push);
          this.pump();
        }, delay),
      );
      return;
    }
    this.fail(push, result.reason, ptime, result.detail);
  }

  private fail(push: Push, reason: string, ptime: number, detail?: string): void {
    this.ended(push, { ok: false, reason, detail }, ptime);
  }

  /** The one place a push ends: its settled event, emitted once. */
  private ended(push: Push, outcome: PushOutcome, ptime: number): void {
    this.events.emitSettled({ push, id: pushId(push), platform: push.notification.platform, token: pushToken(push), outcome, ptime });
  }

  /**
   * Stops accepting, keeps delivering until everything queued has ended or `core.shutdown_timeout` passes, then
   * logs whatever is left as `failed-push`: with reason `Shutdown` when it was never sent (recoverable from the log),
   * with `ShutdownInFlight` when its send was on the wire and unanswered, so the provider may have delivered it
   * (`pushgate recover` leaves those alone unless asked). A durable queue is handed everything left instead. Runs
   * before Nest closes the HTTP server and, after it, the provider clients.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    const { shutdown_delay, shutdown_timeout } = this.core;
    if (shutdown_delay > 0) await sleep(shutdown_delay * 1000);
    const deadline = Date.now() + shutdown_timeout * 1000;
    while (this.queue.size + this.inFlight.size + this.waitingRetry.size + this.parkedCount > 0 && Date.now() < deadline) {
      await sleep(20);
    }
    this.stopped = true;
    const sending = [...this.inFlight];
    const unsent = [...this.queue.drain(), ...this.waitingRetry.keys()];
    for (const lane of this.lanes.values()) unsent.push(...lane.parked.splice(0));
    this.parkedCount = 0;
    for (const timer of this.waitingRetry.values()) clearTimeout(timer);
    this.waitingRetry.clear();
    this.inFlight.clear();
    const left = sending.length + unsent.length;
    if (left === 0) return;
    if (this.queue.durable) {
      this.logger.warn(`shutdown: ${left} unfinished pushes handed back to the queue`);
      return;
    }
    for (const push of unsent) this.fail(push, 'Shutdown', 0);
    for (const push of sending) this.fail(push, 'ShutdownInFlight', 0);
    this.logger.warn(
      `shutdown: ${unsent.length} pushes not sent in time, logged as failed-push (Shutdown); ` +
        `${sending.length} sent and unanswered, fate unknown, logged as failed-push (ShutdownInFlight)`,
    );
  }
}
