import { Inject, Injectable } from '@nestjs/common';
import {
  ExponentialBackoff,
  halfJitterGenerator,
  handleWhenResult,
  retry,
  type FailureReason,
  type IBackoff,
  type IBackoffFactory,
} from 'cockatiel';
import { ANDROID_CONFIG, AppsSettings, DEFAULT_APP, IOS_CONFIG, type AndroidConfig, type IosConfig } from '../config/pushgate.config';
import type { SendResult } from './provider.result';
import { platformName, type Platform } from '../notification/notification.dto';

interface RetryContext {
  readonly attempt: number;
  readonly result: FailureReason<unknown>;
}

// Half jitter keeps every wait between half and all of the exponential step (100-200 ms, 200-400 ms, ...), so a
// retry never follows its failure at once.
const EXPONENTIAL = new ExponentialBackoff({ generator: halfJitterGenerator, initialDelay: 200, maxDelay: 30_000 });

/** The exponential step, or longer when the provider asked for a longer wait (Retry-After). */
class ProviderBackoff implements IBackoff<RetryContext> {
  constructor(
    private readonly step: IBackoff<unknown>,
    readonly duration: number,
  ) {}

  static after(step: IBackoff<unknown>, context: RetryContext): ProviderBackoff {
    const result = 'value' in context.result ? (context.result.value as SendResult) : undefined;
    const asked = result && !result.ok ? (result.retryAfterMs ?? 0) : 0;
    return new ProviderBackoff(step, Math.max(step.duration, asked));
  }

  next(context: RetryContext): ProviderBackoff {
    return ProviderBackoff.after(this.step.next(context), context);
  }
}

const FIRST_BACKOFF: IBackoffFactory<RetryContext> = {
  next: (context) => ProviderBackoff.after(EXPONENTIAL.next(), context),
};

const isRetryable = (result: SendResult): boolean => !result.ok && result.retryable;

/**
 * When a failed send is tried again: retryable failures, up to the `retry_max` of the app and platform, after an
 * exponential backoff with half jitter that honours the provider's Retry-After. The dispatcher and direct
 * sends from the command line wait by the same policy.
 */
@Injectable()
export class SendRetryPolicy {
  constructor(
    private readonly apps: AppsSettings,
    @Inject(IOS_CONFIG) private readonly ios: IosConfig,
    @Inject(ANDROID_CONFIG) private readonly android: AndroidConfig,
  ) {}

  /** Read at each decision, so that a reloaded `retry_max` applies at once. */
  retryMax(platform: Platform, app: string): number {
    // An app that is not configured retries as the default app, or as `[ios]` / `[android]` say when there is none.
    const settings = this.apps.app(app) ?? this.apps.app(DEFAULT_APP) ?? { ios: this.ios, android: this.android };
    return settings[platformName(platform)].retry_max;
  }

  /**
   * The backoff before the next attempt of a push whose attempt number `attempt` (0 for the first) failed with
   * `result`, or undefined when it has failed for good. Its `duration` is the wait; pass it back as `previous`.
   */
  next(platform: Platform, app: string, result: SendResult, attempt: number, previous?: IBackoff<unknown>): IBackoff<unknown> | undefined {
    if (!isRetryable(result) || attempt >= this.retryMax(platform, app)) return undefined;
    return (previous ?? FIRST_BACKOFF).next({ attempt: attempt + 1, result: { value: result } });
  }

  /** Runs one send, and again while it fails retryably, up to the app's `retry_max` retries. */
  execute(platform: Platform, app: string, send: () => Promise<SendResult>): Promise<SendResult> {
    const policy = retry(
      handleWhenResult((r) => isRetryable(r as SendResult)),
      { maxAttempts: this.retryMax(platform, app), backoff: FIRST_BACKOFF },
    );
    return policy.execute(send);
  }
}
