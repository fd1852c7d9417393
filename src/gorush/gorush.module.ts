import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { StatsModule } from '../stats/stats.module';
import { GorushController } from './gorush.controller';
import { GorushMetrics } from './gorush.metrics';
import { GorushPush } from './gorush.push';

/** Gorush's HTTP API and metric names over pushgate's pipeline and counters. */
@Module({
  imports: [StatsModule, MetricsModule],
  controllers: [GorushController],
  providers: [GorushPush, GorushMetrics],
})
export class GorushModule {}
