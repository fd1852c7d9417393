import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PushModule } from '../push/push.module';
import { DeadLetterController } from './dead-letter.controller';
import { RedisConsumer } from './redis.consumer';
import { RedisHealthIndicator } from './redis.health';

/**
 * What the Redis queue adds around `PushQueue` (which PushModule provides, choosing it by `queue.backend`): its
 * readiness indicator, the dead-letter endpoints and the start of consumption. Global so that the health controller can compose the
 * indicator without the stats module depending on this one.
 */
@Global()
@Module({
  imports: [PushModule, TerminusModule],
  controllers: [DeadLetterController],
  providers: [RedisHealthIndicator, RedisConsumer],
  exports: [RedisHealthIndicator],
})
export class RedisModule {}
