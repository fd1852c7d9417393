import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PushModule } from '../push/push.module';
import { RuntimeStats } from './runtime.stats';
import { HealthController, StatsController } from './stats.controller';

@Module({
  imports: [PushModule, TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
  controllers: [StatsController, HealthController],
  providers: [RuntimeStats],
})
export class StatsModule {}
