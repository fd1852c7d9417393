import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PushWorkers } from '../push/push.workers';

/**
 * Starts the workers' first take at boot. With the in-memory queue a request's acceptance does that, but a replica
 * sharing a Redis queue has work to do that it never accepted itself; from then on each take chains the next.
 */
@Injectable()
export class RedisConsumer implements OnApplicationBootstrap {
  constructor(private readonly workers: PushWorkers) {}

  onApplicationBootstrap(): void {
    this.workers.pump();
  }
}
