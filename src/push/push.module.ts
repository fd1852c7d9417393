import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApnsModule } from '../apns/apns.module';
import { ApnsProvider } from '../apns/apns.provider';
import { FcmModule } from '../fcm/fcm.module';
import { FcmProvider } from '../fcm/fcm.provider';
import { ProviderModule } from '../provider/provider.module';
import { PushController } from './push.controller';
import { PushCounters } from './push.counters';
import { PushEvents } from './push.events';
import { PushHealthIndicator } from './push.health';
import { PushJournal } from './push.journal';
import { PushPreparer } from './push.preparer';
import { PushQueue } from './push.queue';
import { PushResults } from './push.results';
import { PushService } from './push.service';
import { PushDispatcher } from './push.dispatcher';

const providers = ProviderModule.register([
  { module: ApnsModule, provider: ApnsProvider },
  { module: FcmModule, provider: FcmProvider },
]);

export interface PushModuleOptions {
  /**
   * The queue backend: a class that fulfils {@link PushQueue}, provided under that token and under its own class
   * (for what only that backend offers, composed alongside it).
   */
  readonly queue: Type<PushQueue>;
}

/**
 * Accepting, queueing, sending and recording pushes. Configured once where the application is composed, with the
 * queue backend, and global like any such root module: the features that observe pushes (stats, metrics, feedback,
 * a backend's own endpoints) use its exports without naming the backend.
 */
@Module({
  imports: [providers, TerminusModule],
  controllers: [PushController],
  providers: [PushCounters, PushEvents, PushJournal, PushPreparer, PushResults, PushService, PushDispatcher, PushHealthIndicator],
  exports: [PushCounters, PushEvents, PushJournal, PushPreparer, PushDispatcher, providers],
})
export class PushModule {
  static forRoot({ queue }: PushModuleOptions): DynamicModule {
    return {
      module: PushModule,
      global: true,
      providers: [queue, { provide: PushQueue, useExisting: queue }],
      exports: [queue, PushQueue],
    };
  }
}
