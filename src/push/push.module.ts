import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApnsModule } from '../apns/apns.module';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { FcmModule } from '../fcm/fcm.module';
import { PushController } from './push.controller';
import { PushCounters } from './push.counters';
import { PushEvents } from './push.events';
import { PushPreparer } from './push.preparer';
import { PushHealthIndicator } from './push.health';
import { MemoryPushQueue, PushQueue } from './push.queue';
import { PushService } from './push.service';
import { PushWorkers } from './push.workers';

@Module({
  imports: [ApnsModule, FcmModule, TerminusModule],
  controllers: [PushController],
  providers: [
    {
      provide: PushQueue,
      inject: [pushgateConfig.KEY],
      useFactory: (config: PushgateConfig): PushQueue => new MemoryPushQueue(config.core.queues),
    },
    PushCounters,
    PushEvents,
    PushPreparer,
    PushService,
    PushWorkers,
    PushHealthIndicator,
  ],
  exports: [PushQueue, PushCounters, PushEvents, PushPreparer, PushWorkers, PushHealthIndicator, ApnsModule, FcmModule],
})
export class PushModule {}
