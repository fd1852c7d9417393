import { randomBytes } from 'node:crypto';
import { BadRequestException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { AppsSettings, CORE_CONFIG, DEFAULT_APP, type CoreConfig } from '../config/pushgate.config';
import { ProviderRegistry } from '../provider/provider.registry';
import { PushCounters } from './push.counters';
import { PushAcceptedDto, type NotificationDto, type PushRequestDto } from './push.dto';
import { PushJournal } from './push.journal';
import { PushPreparer } from './push.preparer';
import { PushQueue, type QueuedNotification } from './push.queue';
import { PushResults } from './push.results';
import { PushDispatcher } from './push.dispatcher';

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
  ) {}

  /**
   * Validates the limits that depend on configuration, then queues every push of the request or none. With
   * `waitMs`, answers once every push has ended or that time has passed, with each token's result.
   */
  async accept(request: PushRequestDto, waitMs?: number): Promise<PushAcceptedDto> {
    const { notifications } = request;
    const { notification_max } = this.core;
    if (notifications.length > notification_max) {
      throw new BadRequestException({
        message: `number of notifications(${notifications.length}) over limit(${notification_max})`,
      });
    }
    const now = Date.now();
    const requestId = `${this.bootId}-r${(this.requests++).toString(36)}`;
    const problems: string[] = [];
    const queued = notifications.map((n, i) => this.prepare(n, i, now, requestId, problems));
    if (problems.length > 0) {
      throw new BadRequestException({
        message: problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`,
        errors: problems,
      });
    }
    if (!this.dispatcher.accepting) throw new ServiceUnavailableException({ message: 'shutting down' });
    let count = 0;
    for (const n of queued) count += n.dto.token.length;
    // Tracked before the pushes can settle, and forgotten again if the queue refuses them.
    this.results.track(requestId, count, now);
    const waiter = waitMs === undefined ? undefined : this.results.expect(requestId, count);
    let offered = false;
    try {
      offered = await this.queue.offer(queued);
    } finally {
      if (!offered) this.results.forget(requestId);
    }
    if (!offered) {
      throw new QueueFullException({ message: `queue is full (${this.queue.size}/${this.queue.capacity} pushes); retry later` });
    }
    // The recovery journal: written out before the client hears 200.
    this.journal.accepted(queued);
    this.counters.accepted += count;
    this.dispatcher.wake();
    if (!waiter) return new PushAcceptedDto(count, requestId);
    return new PushAcceptedDto(count, requestId, await waiter.collect(queued, waitMs!));
  }

  private prepare(n: NotificationDto, index: number, now: number, requestId: string, problems: string[]): QueuedNotification {
    const path = `notifications[${index}]`;
    const { core } = this;
    if (n.token.length > core.token_max) problems.push(`${path}.token: ${n.token.length} tokens over limit(${core.token_max})`);
    if (n.message === '' && !core.allows_empty_message)
      problems.push(`${path}.message: empty message (core.allows_empty_message is false)`);
    if (!this.apps.app(n.app ?? DEFAULT_APP)) {
      problems.push(n.app === undefined ? `${path}.app: required: no default app is configured` : `${path}.app: unknown app "${n.app}"`);
    }
    const queued = this.preparer.prepare(n, `${this.bootId}-${(this.sequence++).toString(36)}-`, now, requestId);
    problems.push(...this.providers.validate(n, queued, path));
    return queued;
  }
}
