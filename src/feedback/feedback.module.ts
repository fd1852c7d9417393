import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { PushModule } from '../push/push.module';
import { FeedbackController } from './feedback.controller';
import { FeedbackService } from './feedback.service';

@Module({
  imports: [PushModule, MetricsModule],
  controllers: [FeedbackController],
  providers: [FeedbackService],
})
export class FeedbackModule {}
