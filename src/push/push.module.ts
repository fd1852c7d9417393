import { Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule, type Type } from '@nestjs/common';
import type { Request } from 'express';
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
import { JournalHealthIndicator } from './push.journal.health';
import { PushPreparer } from './push.preparer';
import { PushQueue } from './push.queue';
import { PushResults } from './push.results';
import { PushService } from './push.service';
import { PushDispatcher } from './push.dispatcher';
import { MemoryBudget } from './memory-budget';

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
  providers: [
    PushCounters,
    PushEvents,
    PushJournal,
    PushPreparer,
    PushResults,
    PushService,
    PushDispatcher,
    MemoryBudget,
    PushHealthIndicator,
    JournalHealthIndicator,
  ],
  exports: [PushCounters, PushEvents, PushJournal, PushPreparer, PushService, PushDispatcher, MemoryBudget, providers],
})
export class PushModule implements NestModule {
  constructor(private readonly journal: PushJournal) {}

  /** Gaurun's `accepted-request` line, for every `POST /push` as Gaurun wrote it: before the body is read. */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((req: Request, _res: unknown, next: () => void) => {
        const length = req.headers['content-length'];
        this.journal.request({
          uri: req.originalUrl,
          method: req.method,
          proto: `HTTP/${req.httpVersion}`,
          contentLength: length === undefined ? -1 : Number(length),
        });
        next();
      })
      .forRoutes({ path: 'push', method: RequestMethod.POST });
  }
  static forRoot({ queue }: PushModuleOptions): DynamicModule {
    return {
      module: PushModule,
      global: true,
      providers: [queue, { provide: PushQueue, useExisting: queue }],
      exports: [queue, PushQueue],
    };
  }
}
