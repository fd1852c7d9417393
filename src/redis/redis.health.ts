import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Readiness, type ReadinessIndicator } from '../health/readiness';
import { RedisPushQueue } from './redis.queue';

const PING_TIMEOUT_MS = 1000;

/** Ready when Redis answers a PING in time. */
@Injectable()
@Readiness()
export class RedisHealthIndicator implements ReadinessIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queue: RedisPushQueue,
  ) {}

  async isReady(key = 'redis'): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.queue.ping(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS))),
      ]);
      return indicator.up({ depth: this.queue.size, consumer: this.queue.consumer });
    } catch (error) {
      return indicator.down({ reason: `redis unreachable: ${(error as Error).message}` });
    } finally {
      clearTimeout(timer);
    }
  }
}
