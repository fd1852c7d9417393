import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Readiness, type ReadinessIndicator } from '../health/readiness';
import { PushQueue } from './push.queue';
import { PushDispatcher } from './push.dispatcher';

/** Above this share of its capacity the queue reports not ready, so traffic moves to other replicas. */
export const QUEUE_HIGH_WATER = 0.9;

@Injectable()
@Readiness()
export class PushHealthIndicator implements ReadinessIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queue: PushQueue,
    private readonly dispatcher: PushDispatcher,
  ) {}

  isReady(key = 'queue'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const details = { usage: this.queue.size, max: this.queue.capacity };
    if (!this.dispatcher.accepting) return indicator.down({ ...details, reason: 'shutting down' });
    if (this.queue.size >= this.queue.capacity * QUEUE_HIGH_WATER)
      return indicator.down({ ...details, reason: 'queue above high-water mark' });
    return indicator.up(details);
  }
}
