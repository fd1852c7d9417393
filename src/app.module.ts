import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { AuthModule } from './auth/auth.module';
import { pushgateConfig } from './config/pushgate.config';
import { FeedbackModule } from './feedback/feedback.module';
import { HttpExceptionFilter } from './http/http-exception.filter';
import { JsonBodyMiddleware } from './http/json-body.middleware';
import { createValidationPipe } from './http/validation.pipe';
import { LogModule } from './log/log.module';
import { MetricsModule } from './metrics/metrics.module';
import { PushRequestTimer } from './metrics/push-request.middleware';
import { PushModule } from './push/push.module';
import { RedisModule } from './redis/redis.module';
import { ReloadModule } from './reload/reload.module';
import { SimulatorModule } from './simulator/simulator.module';
import { StatsModule } from './stats/stats.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [pushgateConfig] }),
    ScheduleModule.forRoot(),
    LogModule,
    AuthModule,
    SimulatorModule,
    PushModule,
    RedisModule,
    StatsModule,
    MetricsModule,
    FeedbackModule,
    ReloadModule,
  ],
  providers: [
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_FILTER, useClass: HttpExceptionFilter },
  ],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(PushRequestTimer, JsonBodyMiddleware).forRoutes('*path');
  }
}
