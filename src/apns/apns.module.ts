import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApnsHealthIndicator } from './apns.health';
import { ApnsService } from './apns.service';

@Module({
  imports: [TerminusModule],
  providers: [ApnsService, ApnsHealthIndicator],
  exports: [ApnsService, ApnsHealthIndicator],
})
export class ApnsModule {}
