import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PushDispatcher } from '../push/push.dispatcher';

/**
 * Starts the dispatcher's first take at boot. With the in-memory queue a request's acceptance does that, but a replica
 * sharing a Redis queue has work to do that it never accepted itself; from then on each take chains the next.
 */
@Injectable()
export class RedisConsumer implements OnApplicationBootstrap {
  constructor(private readonly dispatcher: PushDispatcher) {}

  onApplicationBootstrap(): void {
    this.dispatcher.pump();
  }
}
