import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FcmHealthIndicator } from './fcm.health';
import { FcmService } from './fcm.service';

@Module({
  imports: [TerminusModule],
  providers: [FcmService, FcmHealthIndicator],
  exports: [FcmService, FcmHealthIndicator],
})
export class FcmModule {}
