import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { FEEDBACK_CONFIG, type FeedbackConfig } from '../config/pushgate.config';
import { MetricsService } from '../metrics/metrics.service';
import { PushEvents, type SettledPush } from '../push/push.events';
import type { InvalidTokenDto } from './feedback.dto';
import { InvalidTokenHistory } from './feedback.history';
import { FeedbackWebhook } from './feedback.webhook';
import { platformName } from '../notification/notification.dto';
import { ProviderRegistry } from '../provider/provider.registry';

/**
 * Invalid-token feedback: every push whose provider declared its token dead is reported, with the whole token, to
 * the token owner's webhook (when `feedback.webhook_url` is set) and kept in a bounded history for
 * `GET /feedback/invalid-tokens`. Tokens never go to a log from here.
 */
@Injectable()
export class FeedbackService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FeedbackService.name);
  readonly history: InvalidTokenHistory;
  private readonly webhook?: FeedbackWebhook;
  private readonly invalidTokens: Counter<'platform' | 'reason'>;

  constructor(
    @Inject(FEEDBACK_CONFIG) feedback: FeedbackConfig,
    private readonly events: PushEvents,
    metrics: MetricsService,
    private readonly providers: ProviderRegistry,
  ) {
    const registers = [metrics.registry];
    this.history = new InvalidTokenHistory(feedback.history_size);
    this.invalidTokens = new Counter({
      name: 'pushgate_feedback_invalid_tokens_total',
      help: 'Device tokens APNs or FCM declared dead, by platform and reason.',
      labelNames: ['platform', 'reason'] as const,
      registers,
    });
    const requests = new Counter({
      name: 'pushgate_feedback_webhook_requests_total',
      help: 'POSTs to the invalid-token webhook, by result (success: a 2xx answer).',
      labelNames: ['result'] as const,
      registers,
    });
    const delivered = new Counter({
      name: 'pushgate_feedback_webhook_delivered_total',
      help: 'Dead tokens the webhook accepted.',
      registers,
    });
    const dropped = new Counter({
      name: 'pushgate_feedback_webhook_dropped_total',
      help: 'Dead tokens dropped, oldest first, because the webhook stayed unreachable while feedback.buffer_size were waiting.',
      registers,
    });
    if (feedback.webhook_url === '') return;
    const webhook = new FeedbackWebhook(
      {
        url: feedback.webhook_url,
        secret: feedback.webhook_secret,
        batchSize: feedback.batch_size,
        flushIntervalMs: feedback.flush_interval * 1000,
        bufferSize: feedback.buffer_size,
        timeoutMs: feedback.timeout * 1000,
      },
      {
        attempted: (ok) => requests.inc({ result: ok ? 'success' : 'failure' }),
        delivered: (n) => delivered.inc(n),
        dropped: (n) => dropped.inc(n),
      },
    );
    this.webhook = webhook;
    new Gauge({
      name: 'pushgate_feedback_webhook_backlog',
      help: 'Dead tokens waiting for the webhook or being sent to it.',
      registers,
      collect() {
        this.set(webhook.backlog);
      },
    });
  }

  onModuleInit(): void {
    this.events.onSettled((event) => {
      // The hot path: a success or an ordinary failure costs one check.
      if (!event.outcome.ok) this.settledWithError(event);
    });
  }

  private settledWithError({ push, platform, token, outcome }: SettledPush): void {
    if (outcome.ok) return;
    const reason = this.providers.of(platform).deadTokenReason(outcome);
    if (reason === undefined) return;
    const now = Date.now();
    const name = platformName(platform);
    const identifier = push.notification.dto.identifier;
    const dead: InvalidTokenDto = {
      token,
      platform: name,
      app: push.notification.app,
      reason,
      timestamp: new Date(now).toISOString(),
      ...(identifier ? { identifier } : {}),
    };
    this.invalidTokens.inc({ platform: name, reason });
    this.history.add(dead, now);
    this.webhook?.add(dead);
  }

  /** Runs after the workers have drained, so the last dead tokens are in the buffer. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.webhook) return;
    const undelivered = await this.webhook.close();
    if (undelivered > 0) this.logger.warn(`shutdown: ${undelivered} invalid tokens could not be sent to the webhook`);
  }
}
