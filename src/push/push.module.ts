import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApnsModule } from '../apns/apns.module';
import { ApnsProvider } from '../apns/apns.provider';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { FcmModule } from '../fcm/fcm.module';
import { FcmProvider } from '../fcm/fcm.provider';
import { ProviderModule } from '../provider/provider.module';
import { RedisPushQueue } from '../redis/redis.queue';
import { PushController } from './push.controller';
import { PushCounters } from './push.counters';
import { PushEvents } from './push.events';
import { PushPreparer } from './push.preparer';
import { PushHealthIndicator } from './push.health';
import { MemoryPushQueue, PushQueue } from './push.queue';
import { PushResults } from './push.results';
import { PushService } from './push.service';
import { PushWorkers } from './push.workers';

const providers = ProviderModule.register([
  { module: ApnsModule, provider: ApnsProvider },
  { module: FcmModule, provider: FcmProvider },
]);

@Module({
  imports: [providers, TerminusModule],
  controllers: [PushController],
  providers: [
    {
      provide: PushQueue,
      inject: [pushgateConfig.KEY, PushPreparer, PushEvents],
      useFactory: (config: PushgateConfig, preparer: PushPreparer, events: PushEvents): PushQueue =>
        config.queue.backend === 'redis' ? new RedisPushQueue(config, preparer, events) : new MemoryPushQueue(config.core.queues),
    },
    PushCounters,
    PushEvents,
    PushPreparer,
    PushResults,
    PushService,
    PushWorkers,
    PushHealthIndicator,
  ],
  exports: [PushQueue, PushCounters, PushEvents, PushPreparer, PushWorkers, PushHealthIndicator, providers],
})
export class PushModule {}
