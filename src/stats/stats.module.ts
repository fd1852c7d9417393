import { Module } from '@nestjs/common';
import { RuntimeStats } from './runtime.stats';
import { StatsController } from './stats.controller';

/** Gaurun's `/stat/*` figures, read from the push module's exports. */
@Module({
  controllers: [StatsController],
  providers: [RuntimeStats],
  exports: [RuntimeStats],
})
export class StatsModule {}
