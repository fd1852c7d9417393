import { createHmac } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ExponentialBackoff, handleAll, retry, type RetryPolicy } from 'cockatiel';
import type { InvalidTokenDto } from './feedback.dto';

export const SIGNATURE_HEADER = 'x-pushgate-signature';
export const TIMESTAMP_HEADER = 'x-pushgate-timestamp';

export interface FeedbackWebhookOptions {
  url: string;
  secret: string;
  batchSize: number;
  flushIntervalMs: number;
  /** Dead tokens waiting at most; beyond it the oldest are dropped. */
  bufferSize: number;
  timeoutMs: number;
  /** Backoff between attempts at one batch; retried until the receiver answers 2xx or the gateway stops. */
  backoff?: { initialDelayMs: number; maxDelayMs: number };
}

/** What the sender reports, for the metrics. */
export interface FeedbackWebhookObserver {
  attempted(ok: boolean): void;
  delivered(tokens: number): void;
  dropped(tokens: number): void;
}

class WebhookRejected extends Error {}

/**
 * Sends dead tokens to the token owner's webhook: batched POSTs of `{"invalid_tokens": [...]}`, each signed with
 * HMAC-SHA256 over `<timestamp>.<body>`, one batch in flight, retried with exponential backoff until the receiver
 * answers 2xx. While it cannot deliver, at most `bufferSize` tokens wait (a token already waiting is not queued
 * twice); beyond that the oldest are dropped and counted. Delivery is at least once: a receiver must accept a
 * token it has already seen.
 */
export class FeedbackWebhook {
  private readonly logger = new Logger(FeedbackWebhook.name);
  private readonly pending = new Map<string, InvalidTokenDto>();
  private inFlight: InvalidTokenDto[] = [];
  private sending = false;
  private timer?: NodeJS.Timeout;
  private readonly stopping = new AbortController();
  private readonly policy: RetryPolicy;
  private readonly origin: string;

  constructor(
    private readonly options: FeedbackWebhookOptions,
    private readonly observer: FeedbackWebhookObserver,
  ) {
    const backoff = options.backoff ?? { initialDelayMs: 500, maxDelayMs: 60_000 };
    // Unreferenced: a backoff pending at shutdown must not keep the process alive.
    this.policy = retry(handleAll, {
      backoff: new ExponentialBackoff({ initialDelay: backoff.initialDelayMs, maxDelay: backoff.maxDelayMs }),
    }).dangerouslyUnref();
    this.origin = new URL(options.url).origin;
  }

  /** Dead tokens waiting or being sent. */
  get backlog(): number {
    return this.pending.size + this.inFlight.length;
  }

  add(token: InvalidTokenDto): void {
    if (this.stopping.signal.aborted) return;
    const key = `${token.platform}:${token.token}`;
    if (this.pending.has(key)) return;
    if (this.pending.size >= this.options.bufferSize) {
      const oldest = this.pending.keys().next();
      if (!oldest.done) this.pending.delete(oldest.value);
      this.observer.dropped(1);
    }
    this.pending.set(key, token);
    if (this.pending.size >= this.options.batchSize) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushIntervalMs).unref();
  }

  /**
   * Stops retrying and makes one last attempt, within the timeout, at everything still held. Returns how many
   * tokens could not be delivered.
   */
  async close(): Promise<number> {
    clearTimeout(this.timer);
    this.stopping.abort();
    const left = [...this.inFlight, ...this.pending.values()];
    this.inFlight = [];
    this.pending.clear();
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    let undelivered = 0;
    for (let i = 0; i < left.length; i += this.options.batchSize) {
      const batch = left.slice(i, i + this.options.batchSize);
      try {
        if (deadline.aborted) throw deadline.reason;
        await this.post(batch, deadline);
        this.observer.delivered(batch.length);
      } catch {
        undelivered += batch.length;
      }
    }
    return undelivered;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.sending || this.pending.size === 0 || this.stopping.signal.aborted) return;
    const batch: InvalidTokenDto[] = [];
    for (const [key, token] of this.pending) {
      if (batch.length === this.options.batchSize) break;
      batch.push(token);
      this.pending.delete(key);
    }
    this.sending = true;
    this.inFlight = batch;
    void this.deliver(batch).finally(() => {
      this.sending = false;
      this.inFlight = [];
      if (this.pending.size >= this.options.batchSize) this.flush();
      else if (this.pending.size > 0) this.timer ??= setTimeout(() => this.flush(), this.options.flushIntervalMs).unref();
    });
  }

  private async deliver(batch: InvalidTokenDto[]): Promise<void> {
    const stopping = this.stopping.signal;
    try {
      await this.policy.execute(async ({ attempt }) => {
        if (stopping.aborted) throw stopping.reason;
        try {
          await this.post(batch, AbortSignal.any([stopping, AbortSignal.timeout(this.options.timeoutMs)]));
        } catch (error) {
          if (!stopping.aborted) {
            this.logger.warn(
              `invalid-token webhook ${this.origin} failed (attempt ${attempt + 1}): ${describe(error)}; ${batch.length} tokens kept for the next attempt`,
            );
          }
          throw error;
        }
      }, stopping);
      this.observer.delivered(batch.length);
    } catch {
      // Only a stopping gateway ends the retries; close() takes over what was in flight.
    }
  }

  private async post(batch: InvalidTokenDto[], signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ invalid_tokens: batch });
    const timestamp = Math.floor(Date.now() / 1000).toString();
    const signature = createHmac('sha256', this.options.secret).update(`${timestamp}.${body}`).digest('hex');
    let ok = false;
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'pushgate',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: `sha256=${signature}`,
        },
        body,
        redirect: 'manual',
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) throw new WebhookRejected(`HTTP ${res.status}`);
      ok = true;
    } finally {
      this.observer.attempted(ok);
    }
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
