import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FcmHealthIndicator } from './fcm.health';
import { FcmProvider } from './fcm.provider';
import { FcmService } from './fcm.service';

@Module({
  imports: [TerminusModule],
  providers: [FcmService, FcmProvider, FcmHealthIndicator],
  exports: [FcmService, FcmProvider, FcmHealthIndicator],
})
export class FcmModule {}
