import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module';
import { bootConfigSource, loadConfig, PushgateConfigModule, type PushgateConfig } from './config/pushgate.config';
import { FeedbackModule } from './feedback/feedback.module';
import { GorushModule } from './gorush/gorush.module';
import { HealthModule } from './health/health.module';
import { AccessLogMiddleware } from './http/access-log.middleware';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { RequestIdMiddleware } from './http/request-id.middleware';
import { createValidationPipe } from './http/validation.pipe';
import { LogModule } from './log/log.module';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiRoutes } from './openapi/openapi.routes';
import { PushRequestTimer } from './metrics/push-request.middleware';
import { PushModule } from './push/push.module';
import { MemoryPushQueue } from './push/push.queue';
import { ReloadModule } from './reload/reload.module';
import { SimulatorModule } from './simulator/simulator.module';
import { StatsModule } from './stats/stats.module';

/**
 * The parts that depend on `queue.backend`: the queue, and what only the Redis queue offers. The Redis ones (and
 * ioredis with them) are loaded only for that backend.
 */
function queueBackend(config: PushgateConfig): (DynamicModule | Type)[] {
  if (config.queue.backend === 'redis') {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { RedisPushQueue } = require('./redis/redis.queue') as typeof import('./redis/redis.queue');
    const { RedisModule } = require('./redis/redis.module') as typeof import('./redis/redis.module');
    /* eslint-enable @typescript-eslint/no-require-imports */
    return [PushModule.forRoot({ queue: RedisPushQueue }), RedisModule];
  }
  return [PushModule.forRoot({ queue: MemoryPushQueue })];
}

/**
 * The gateway, composed for one configuration (read once, and provided section by section with the apps' live
 * settings by {@link PushgateConfigModule}): the configuration chooses the queue backend here, and nowhere else.
 */
@Module({})
export class AppModule implements NestModule {
  static forRoot(config: PushgateConfig = loadConfig(bootConfigSource())): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PushgateConfigModule.forRoot(config),
        ScheduleModule.forRoot(),
        LogModule,
        AuthModule,
        SimulatorModule,
        ...queueBackend(config),
        HealthModule,
        StatsModule,
        MetricsModule,
        FeedbackModule,
        ReloadModule,
        GorushModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: () => createValidationPipe({ strictKeys: config.core.strict_keys }) },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        OpenApiRoutes,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestIdMiddleware, AccessLogMiddleware, PushRequestTimer, JsonBodyMiddleware).forRoutes('/');
  }
}
