import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApnsHealthIndicator } from './apns.health';
import { ApnsProvider } from './apns.provider';
import { ApnsService } from './apns.service';

@Module({
  imports: [TerminusModule],
  providers: [ApnsService, ApnsProvider, ApnsHealthIndicator],
  exports: [ApnsService, ApnsProvider, ApnsHealthIndicator],
})
export class ApnsModule {}
