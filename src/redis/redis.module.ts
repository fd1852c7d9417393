import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DeadLetterController } from './dead-letter.controller';
import { RedisConsumer } from './redis.consumer';
import { RedisHealthIndicator } from './redis.health';

/**
 * What the Redis queue offers beyond the queue contract: its dead-letter endpoints, its readiness indicator and the
 * start of consumption at boot. Composed only alongside `PushModule.forRoot({ queue: RedisPushQueue })`, whose
 * exports (the queue, the workers, the journal) it uses.
 */
@Module({
  imports: [TerminusModule],
  controllers: [DeadLetterController],
  providers: [RedisHealthIndicator, RedisConsumer],
})
export class RedisModule {}
