import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { GORUSH_CONFIG, type GorushConfig } from '../config/pushgate.config';
import { MetricsService } from '../metrics/metrics.service';
import { scrapedCounter, scrapedGauge } from '../metrics/metrics.scraped';
import { PushCounters } from '../push/push.counters';
import { PushDispatcher } from '../push/push.dispatcher';

/**
 * With `gorush.metric_names`, `/metrics` also carries Gorush's series (`appleboy/gorush`, `metric/metrics.go`), read
 * from pushgate's counters when scraped, so that dashboards built on them keep working.
 */
@Injectable()
export class GorushMetrics implements OnModuleInit {
  constructor(
    @Inject(GORUSH_CONFIG) private readonly gorush: GorushConfig,
    private readonly metrics: MetricsService,
    private readonly counters: PushCounters,
    private readonly dispatcher: PushDispatcher,
  ) {}

  onModuleInit(): void {
    if (!this.gorush.metric_names) return;
    const registers = [this.metrics.registry];
    const { ios, android } = this.counters;
    const counter = (name: string, help: string, read: () => number): void => scrapedCounter(registers, name, help, read);
    counter('gorush_total_push_count', 'Number of push count', () => this.counters.accepted);
    counter('gorush_ios_success', 'Number of iOS success count', () => ios.push_success);
    counter('gorush_ios_error', 'Number of iOS fail count', () => ios.push_error);
    counter('gorush_android_success', 'Number of android success count', () => android.push_success);
    counter('gorush_android_fail', 'Number of android fail count', () => android.push_error);
    counter('gorush_huawei_success', 'Number of huawei success count (pushgate does not send to Huawei)', () => 0);
    counter('gorush_huawei_fail', 'Number of huawei fail count (pushgate does not send to Huawei)', () => 0);
    counter('gorush_success_tasks', 'Pushes that succeeded', () => ios.push_success + android.push_success);
    counter('gorush_failure_tasks', 'Pushes that failed for good', () => ios.push_error + android.push_error);
    counter('gorush_submitted_tasks', 'Pushes accepted', () => this.counters.accepted);
    scrapedGauge(registers, 'gorush_busy_workers', 'Sends in flight', () => this.dispatcher.active);
  }
}
