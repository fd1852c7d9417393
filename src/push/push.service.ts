import { randomBytes } from 'node:crypto';
import { BadRequestException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { AppsSettings, CORE_CONFIG, DEFAULT_APP, type CoreConfig } from '../config/pushgate.config';
import { ProviderRegistry } from '../provider/provider.registry';
import { transportStartFailure } from '../transport/threaded.transport';
import { PushCounters } from './push.counters';
import { PushAcceptedDto } from './push.dto';
import { type NotificationDto, type PushRequestDto } from '../notification/notification.dto';
import { PushJournal, type DisabledNotification } from './push.journal';
import { PushPreparer } from './push.preparer';
import { PushQueue, type QueuedNotification } from './push.queue';
import { PushResults } from './push.results';
import { PushDispatcher } from './push.dispatcher';
import { MemoryBudget } from './memory-budget';

/** Seconds a client should wait before retrying a request refused because the queue is full. */
export const QUEUE_FULL_RETRY_AFTER = 1;

export class QueueFullException extends ServiceUnavailableException {
  readonly retryAfterSeconds = QUEUE_FULL_RETRY_AFTER;
}

@Injectable()
export class PushService {
  /** Unique per process start, so push ids never repeat across restarts and replicas. */
  private readonly bootId = randomBytes(6).toString('base64url');
  private sequence = 0;
  private requests = 0;

  constructor(
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    private readonly apps: AppsSettings,
    private readonly queue: PushQueue,
    private readonly dispatcher: PushDispatcher,
    private readonly counters: PushCounters,
    private readonly preparer: PushPreparer,
    private readonly journal: PushJournal,
    private readonly results: PushResults,
    private readonly providers: ProviderRegistry,
    private readonly budget: MemoryBudget,
  ) {}

  /**
   * Validates the limits that depend on configuration, then queues every push of the request or none; the pushes of
   * a disabled platform are skipped (logged and counted, not queued), as Gaurun skipped them. With `waitMs`, answers
   * once every queued push has ended or that time has passed, with each queued token's result. `requestId` is the
   * HTTP request's id; one is generated when there is none.
   */
  async accept(
    request: PushRequestDto,
    waitMs?: number,
    requestId = `${this.bootId}-r${(this.requests++).toString(36)}`,
  ): Promise<PushAcceptedDto> {
    const { notifications, warnings } = request;
    if (warnings) this.counters.unknownKeys += warnings.length;
    const { notification_max } = this.core;
    if (notifications.length > notification_max) {
      throw new BadRequestException({
        message: `number of notifications(${notifications.length}) over limit(${notification_max})`,
      });
    }
    const now = Date.now();
    const problems: string[] = [];
    const queued: QueuedNotification[] = [];
    const disabled: DisabledNotification[] = [];
    for (let i = 0; i < notifications.length; i++) this.prepare(notifications[i], i, now, requestId, problems, queued, disabled);
    if (problems.length > 0) {
      throw new BadRequestException({
        message: problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`,
        errors: problems,
      });
    }
    if (!this.dispatcher.accepting) throw new ServiceUnavailableException({ message: 'shutting down' });
    const transportDown = transportStartFailure();
    if (transportDown !== undefined)
      throw new ServiceUnavailableException({
        message: `cannot send: the transport thread could not start (${transportDown}); retry later`,
      });
    let count = 0;
    for (const n of queued) count += n.dto.token.length;
    let skipped = 0;
    for (const n of disabled) skipped += n.dto.token.length;
    const full = (): QueueFullException =>
      new QueueFullException({ message: `queue is full (${this.queue.size}/${this.queue.capacity} pushes); retry later` });
    // Refused before the journal is written, so that a full queue or memory leaves no accepted-push lines behind.
    if (this.queue.size + count > this.queue.capacity) throw full();
    const reserved = this.budget.admit(queued);
    let offered = queued.length === 0;
    let waiter: ReturnType<PushResults['expect']> | undefined;
    try {
      // The recovery journal: written before the pushes are queued; a request it cannot record is refused (503).
      const entry = this.journal.accepted(queued);
      // Tracked before the pushes can settle, and forgotten again if the queue refuses them.
      this.results.track(requestId, count, now);
      if (waitMs !== undefined) waiter = this.results.expect(requestId, count);
      try {
        if (!offered) offered = await this.queue.offer(queued);
      } finally {
        if (!offered) {
          this.results.forget(requestId);
          this.journal.withdraw(entry);
        }
      }
    } finally {
      // A durable queue holds its pushes outside this process once they are offered.
      if (!offered || this.queue.durable) this.budget.withdraw(queued, reserved);
    }
    if (!offered) throw full();
    if (disabled.length > 0) {
      this.journal.disabled(disabled);
      for (const n of disabled) this.counters.skipped(n.dto.platform, n.dto.token.length);
    }
    this.counters.accepted += count;
    this.dispatcher.wake();
    const extra = { skipped, warnings };
    if (!waiter) return new PushAcceptedDto(count, requestId, undefined, extra);
    return new PushAcceptedDto(count, requestId, await waiter.collect(queued, waitMs!), extra);
  }

  private prepare(
    n: NotificationDto,
    index: number,
    now: number,
    requestId: string,
    problems: string[],
    queued: QueuedNotification[],
    disabled: DisabledNotification[],
  ): void {
    const path = `notifications[${index}]`;
    const { core } = this;
    if (n.token.length > core.token_max) problems.push(`${path}.token: ${n.token.length} tokens over limit(${core.token_max})`);
    if (n.message === '' && !core.allows_empty_message)
      problems.push(`${path}.message: empty message (core.allows_empty_message is false)`);
    if (!this.apps.app(n.app ?? DEFAULT_APP)) {
      problems.push(n.app === undefined ? `${path}.app: required: no default app is configured` : `${path}.app: unknown app "${n.app}"`);
    }
    const idPrefix = `${this.bootId}-${(this.sequence++).toString(36)}-`;
    if (this.providers.disabled(n)) {
      disabled.push({ dto: n, idPrefix, requestId });
      return;
    }
    const prepared = this.preparer.prepare(n, idPrefix, now, requestId);
    problems.push(...this.providers.validate(n, prepared, path));
    queued.push(prepared);
  }
}
