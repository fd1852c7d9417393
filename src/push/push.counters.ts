import { Injectable } from '@nestjs/common';
import { PLATFORM_IOS, type Platform } from './push.dto';

export interface PlatformCounters {
  push_success: number;
  push_error: number;
  retries: number;
  /** Final failures by reason (`BadDeviceToken`, `UNREGISTERED`, `Timeout`, ...). */
  errors: Record<string, number>;
}

function platformCounters(): PlatformCounters {
  return { push_success: 0, push_error: 0, retries: 0, errors: {} };
}

/** Counters since start, by platform: what `/stat/app` reports. */
@Injectable()
export class PushCounters {
  accepted = 0;
  readonly ios = platformCounters();
  readonly android = platformCounters();

  of(platform: Platform): PlatformCounters {
    return platform === PLATFORM_IOS ? this.ios : this.android;
  }

  succeeded(platform: Platform): void {
    this.of(platform).push_success++;
  }

  failed(platform: Platform, reason: string): void {
    const counters = this.of(platform);
    counters.push_error++;
    counters.errors[reason] = (counters.errors[reason] ?? 0) + 1;
  }

  retried(platform: Platform): void {
    this.of(platform).retries++;
  }

  /** Pushes that ended, successfully or not. */
  get finished(): number {
    return this.ios.push_success + this.ios.push_error + this.android.push_success + this.android.push_error;
  }
}
