import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ApnsHealthIndicator } from '../apns/apns.health';
import { FcmHealthIndicator } from '../fcm/fcm.health';
import { PushCounters, type PlatformCounters } from '../push/push.counters';
import { PushHealthIndicator } from '../push/push.health';
import { PushQueue } from '../push/push.queue';
import { PushWorkers } from '../push/push.workers';
import { RuntimeStats } from './runtime.stats';

export interface AppStats {
  queue_max: number;
  queue_usage: number;
  pusher_max: number;
  pusher_count: number;
  concurrency: number;
  accepted: number;
  retrying: number;
  ios: PlatformCounters;
  android: PlatformCounters;
}

@Controller()
export class StatsController {
  constructor(
    private readonly queue: PushQueue,
    private readonly workers: PushWorkers,
    private readonly counters: PushCounters,
    private readonly runtime: RuntimeStats,
  ) {}

  @Get('stat/app')
  app(): AppStats {
    return {
      queue_max: this.queue.capacity,
      queue_usage: this.queue.size,
      pusher_max: this.workers.maxPushers,
      pusher_count: this.workers.active,
      concurrency: this.workers.concurrency,
      accepted: this.counters.accepted,
      retrying: this.workers.retrying,
      ios: this.counters.ios,
      android: this.counters.android,
    };
  }

  @Get(['stat/runtime', 'stat/go'])
  runtimeStats(): Record<string, unknown> {
    return this.runtime.snapshot();
  }
}

@Controller('health')
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    private readonly push: PushHealthIndicator,
    private readonly apns: ApnsHealthIndicator,
    private readonly fcm: FcmHealthIndicator,
  ) {}

  /**
   * The process is alive and its event loop answers. It never depends on Apple, Google or any other service, and
   * stays 200 while the gateway drains on shutdown (Terminus answers 503 to every check from then on).
   */
  @Get('live')
  live(): { status: 'ok'; info: { process: { status: 'up'; uptime_seconds: number } } } {
    return { status: 'ok', info: { process: { status: 'up', uptime_seconds: Math.round(process.uptime()) } } };
  }

  /** Able to accept now: clients configured, queue below its high-water mark, not shutting down. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.push.isReady(), () => this.apns.isReady(), () => this.fcm.isReady()]);
  }
}
