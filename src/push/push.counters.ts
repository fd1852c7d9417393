import { Injectable } from '@nestjs/common';
import { DEFAULT_APP } from '../config/pushgate.config';
import { platformName, type Platform } from '../notification/notification.dto';
import { PushEvents } from './push.events';

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

/** One app's counters, by platform. */
export interface AppCounters {
  ios: PlatformCounters;
  android: PlatformCounters;
}

/**
 * Counters since start, by platform, and by app and platform: what `/stat/app` reports. Outcomes and retries are
 * counted from the push events; acceptance, skipped pushes and ignored keys by the accepting service.
 */
@Injectable()
export class PushCounters {
  accepted = 0;
  readonly ios = platformCounters();
  readonly android = platformCounters();
  readonly apps: Record<string, AppCounters> = {};
  /** Pushes skipped because their platform is disabled, by platform. */
  readonly disabled = { ios: 0, android: 0 };
  /** Keys of `POST /push` bodies that were ignored as unknown. */
  unknownKeys = 0;

  constructor(events: PushEvents) {
    events.onSettled(({ platform, outcome, push }) => {
      if (outcome.ok) this.succeeded(platform, push.notification.app);
      else this.failed(platform, outcome.reason, push.notification.app);
    });
    events.onRetried(({ platform, push }) => this.retried(platform, push.notification.app));
  }

  of(platform: Platform): PlatformCounters {
    return this[platformName(platform)];
  }

  /** `count` pushes of a disabled platform were skipped. */
  skipped(platform: Platform, count: number): void {
    this.disabled[platformName(platform)] += count;
  }

  private ofApp(platform: Platform, app: string): PlatformCounters {
    const counters = (this.apps[app] ??= { ios: platformCounters(), android: platformCounters() });
    return counters[platformName(platform)];
  }

  private succeeded(platform: Platform, app = DEFAULT_APP): void {
    this.of(platform).push_success++;
    this.ofApp(platform, app).push_success++;
  }

  private failed(platform: Platform, reason: string, app = DEFAULT_APP): void {
    for (const counters of [this.of(platform), this.ofApp(platform, app)]) {
      counters.push_error++;
      counters.errors[reason] = (counters.errors[reason] ?? 0) + 1;
    }
  }

  private retried(platform: Platform, app = DEFAULT_APP): void {
    this.of(platform).retries++;
    this.ofApp(platform, app).retries++;
  }

  /** Pushes that ended, successfully or not. */
  get finished(): number {
    return this.ios.push_success + this.ios.push_error + this.android.push_success + this.android.push_error;
  }
}
