import { Injectable, type OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ApnsService } from '../apns/apns.service';
import { AppsSettings } from '../config/pushgate.config';
import { LogService } from '../log/log.service';
import { PushCounters } from '../push/push.counters';
import { platformName, type Platform, type PlatformName } from '../notification/notification.dto';
import { PushEvents, type RetriedPush, type SettledPush } from '../push/push.events';
import { PushQueue } from '../push/push.queue';
import { PushDispatcher } from '../push/push.dispatcher';
import { MemoryBudget } from '../push/memory-budget';
import { VERSION } from '../version';
import { deliveryMode } from '../provider/provider.settings';
import { ReasonLabels } from './metrics.labels';
import { scrapedCounter, scrapedGauge } from './metrics.scraped';

const DAY_MS = 24 * 60 * 60 * 1000;
const SEND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DWELL_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
/** With a bucket at 20 ms, the latency an accept-path objective is usually set at. */
const PUSH_REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

interface Incrementer {
  inc(): void;
}
interface Observer {
  observe(value: number): void;
}

/**
 * Increments kept in a plain number and added to their prom-client series when it is scraped. prom-client hashes
 * and checks the labels of a labelled series on every `inc`, which per push cost more than the rest of the
 * bookkeeping; the series it exposes are the same.
 */
class Tally implements Incrementer {
  private pending = 0;

  constructor(private readonly series: { inc(value: number): void }) {}

  inc(): void {
    this.pending++;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.series.inc(this.pending);
    this.pending = 0;
  }
}

interface PlatformSeries {
  readonly succeeded: Incrementer;
  readonly failed: ReasonLabels<Incrementer>;
  readonly retried: ReasonLabels<Incrementer>;
  readonly sendSeconds: Observer;
  readonly dwellSeconds: Observer;
}

/**
 * The gateway's Prometheus metrics in a registry of its own (one per application, so that several can live in one
 * process): push outcomes, retries and timings fed by {@link PushEvents}, gauges read from the queue, the dispatcher
 * and the APNs client when scraped, and the default Node.js process metrics. Label values are bounded: platform,
 * outcome and reason, never a token or an id.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  private readonly ios: PlatformSeries;
  private readonly android: PlatformSeries;
  /** Outcome series by app, made at boot for every configured app so the hot path does no label lookup. */
  private readonly byApp = new Map<string, Record<PlatformName, { succeeded: Incrementer; failed: Incrementer }>>();
  private readonly pushRequestSeconds: Histogram<'code'>;
  /** The request histogram's series by status code: prom-client's `labels()` builds and checks a child on every call. */
  private readonly pushRequestSeries = new Map<number, Observer>();

  constructor(
    apps: AppsSettings,
    private readonly events: PushEvents,
    queue: PushQueue,
    dispatcher: PushDispatcher,
    counters: PushCounters,
    apns: ApnsService,
    logs: LogService,
    budget: MemoryBudget,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'pushgate_build_info',
      help: 'Always 1: the running version, and whether pushes go to the embedded simulator or to the providers.',
      labelNames: ['version', 'mode'] as const,
      registers,
    }).set({ version: VERSION, mode: deliveryMode(apps) }, 1);

    const tallies: Tally[] = [];
    const tally = (series: { inc(value: number): void }): Tally => {
      const t = new Tally(series);
      tallies.push(t);
      return t;
    };
    const flushTallies = (): void => {
      for (const t of tallies) t.flush();
    };
    const appPushes = new Counter({
      name: 'pushgate_app_pushes_total',
      help: 'Pushes that ended, by configured app (default: [ios] / [android]), platform and outcome.',
      labelNames: ['app', 'platform', 'outcome'] as const,
      registers,
      collect: flushTallies,
    });
    for (const app of Object.keys(apps.current())) {
      const series = (platform: string): { succeeded: Incrementer; failed: Incrementer } => ({
        succeeded: tally(appPushes.labels(app, platform, 'succeeded')),
        failed: tally(appPushes.labels(app, platform, 'failed')),
      });
      this.byApp.set(app, { ios: series('ios'), android: series('android') });
    }
    new Gauge({
      name: 'pushgate_app_pushes_in_flight',
      help: 'Sends in flight by app; an app at its apps.<name>.in_flight_max parks its further pushes.',
      labelNames: ['app'] as const,
      registers,
      collect() {
        for (const [app, { in_flight }] of Object.entries(dispatcher.appActivity())) this.set({ app }, in_flight);
      },
    });

    const pushes = new Counter({
      name: 'pushgate_pushes_total',
      help: 'Pushes that ended, by platform, outcome (succeeded, failed) and failure reason.',
      labelNames: ['platform', 'outcome', 'reason'] as const,
      registers,
      collect: flushTallies,
    });
    const retries = new Counter({
      name: 'pushgate_push_retries_total',
      help: 'Retries scheduled, by platform and the reason of the failed attempt.',
      labelNames: ['platform', 'reason'] as const,
      registers,
    });
    const sendSeconds = new Histogram({
      name: 'pushgate_push_send_duration_seconds',
      help: 'Duration of the last delivery attempt of each push, by platform.',
      labelNames: ['platform'] as const,
      buckets: SEND_BUCKETS,
      registers,
    });
    const dwellSeconds = new Histogram({
      name: 'pushgate_push_queue_dwell_seconds',
      help: 'Time from acceptance to the start of the last delivery attempt (queue wait plus retry waits), by platform.',
      labelNames: ['platform'] as const,
      buckets: DWELL_BUCKETS,
      registers,
    });
    this.pushRequestSeconds = new Histogram({
      name: 'pushgate_push_request_duration_seconds',
      help: 'Time to answer POST /push, from the request reaching the gateway to its answer written, by status code.',
      labelNames: ['code'] as const,
      buckets: PUSH_REQUEST_BUCKETS,
      registers,
    });
    const series = (platform: string): PlatformSeries => ({
      succeeded: tally(pushes.labels(platform, 'succeeded', '')),
      failed: new ReasonLabels((reason) => pushes.labels(platform, 'failed', reason)),
      retried: new ReasonLabels((reason) => retries.labels(platform, reason)),
      sendSeconds: sendSeconds.labels(platform),
      dwellSeconds: dwellSeconds.labels(platform),
    });
    this.ios = series('ios');
    this.android = series('android');

    new Counter({
      name: 'pushgate_log_write_errors_total',
      help: 'Writes a log failed (full disk, I/O error, closed pipe), by log (access, error); their lines are lost.',
      labelNames: ['log'] as const,
      registers,
      collect() {
        this.reset();
        for (const [log, errors] of Object.entries(logs.writeErrors)) this.inc({ log }, errors);
      },
    });
    scrapedCounter(registers, 'pushgate_pushes_accepted_total', 'Pushes accepted into the queue (one per token).', () => counters.accepted);
    new Counter({
      name: 'pushgate_pushes_disabled_total',
      help: 'Pushes skipped because their platform is disabled (ios.enabled / android.enabled = false), by platform.',
      labelNames: ['platform'] as const,
      registers,
      collect() {
        this.reset();
        this.inc({ platform: 'ios' }, counters.disabled.ios);
        this.inc({ platform: 'android' }, counters.disabled.android);
      },
    });
    scrapedCounter(
      registers,
      'pushgate_request_unknown_keys_total',
      'Unknown keys of POST /push bodies, ignored and listed in the answer as warnings (core.strict_keys = false).',
      () => counters.unknownKeys,
    );
    new Gauge({
      name: 'pushgate_queue_depth',
      help: 'Pushes waiting in the queue, including those handed back for another attempt.',
      registers,
      collect() {
        this.set(queue.size);
      },
    });
    new Gauge({
      name: 'pushgate_queue_capacity',
      help: 'Pushes the queue holds at most (core.queues).',
      registers,
      collect() {
        this.set(queue.capacity);
      },
    });
    scrapedGauge(
      registers,
      'pushgate_memory_budget_bytes',
      'Bytes accepted pushes may hold (core.memory_budget, or its default from the heap limit).',
      () => budget.limit,
    );
    scrapedGauge(
      registers,
      'pushgate_memory_budget_used_bytes',
      'Bytes held by accepted pushes that have not ended, as the memory budget estimates them.',
      () => budget.used,
    );
    scrapedCounter(
      registers,
      'pushgate_memory_budget_refusals_total',
      'POST /push requests refused with 503 because their pushes would have taken memory over the budget.',
      () => budget.refused,
    );
    new Gauge({
      name: 'pushgate_pushes_in_flight',
      help: 'Pushes being sent right now.',
      registers,
      collect() {
        this.set(dispatcher.active);
      },
    });
    new Gauge({
      name: 'pushgate_pushes_waiting_retry',
      help: 'Pushes waiting for the backoff before their next attempt.',
      registers,
      collect() {
        this.set(dispatcher.retrying);
      },
    });
    new Gauge({
      name: 'pushgate_push_concurrency',
      help: 'Concurrent sends allowed: core.workers x (pusher_max + 1).',
      registers,
      collect() {
        this.set(dispatcher.concurrency);
      },
    });

    // The default app's client as it is when scraped: a reload replaces it.
    const tokenAgeHelp = 'Age of the APNs provider token (JWT) in use; absent before the first request.';
    scrapedGauge(registers, 'pushgate_apns_provider_token_age_seconds', tokenAgeHelp, () => {
      const ageMs = apns.client?.tokenAgeMs;
      return ageMs === undefined ? undefined : ageMs / 1000;
    });
    const certificateHelp = 'Days until the APNs client certificate (ios.pem_cert_path) expires; negative once it has.';
    scrapedGauge(registers, 'pushgate_apns_certificate_days_left', certificateHelp, () => {
      const notAfter = apns.client?.certificateNotAfter;
      return notAfter === undefined ? undefined : (notAfter - Date.now()) / DAY_MS;
    });
  }

  onModuleInit(): void {
    this.events.onSettled((event) => this.settled(event));
    this.events.onRetried((event) => this.retried(event));
  }

  /** Times one answered `POST /push`. */
  observePushRequest(status: number, seconds: number): void {
    let series = this.pushRequestSeries.get(status);
    if (!series) {
      series = this.pushRequestSeconds.labels(String(status));
      this.pushRequestSeries.set(status, series);
    }
    series.observe(seconds);
  }

  /** The scrape in the Prometheus text format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private of(platform: Platform): PlatformSeries {
    return this[platformName(platform)];
  }

  private settled({ push, platform, outcome, ptime }: SettledPush): void {
    const series = this.of(platform);
    if (outcome.ok) series.succeeded.inc();
    else series.failed.get(outcome.reason).inc();
    const app = this.byApp.get(push.notification.app);
    if (app) {
      const perApp = app[platformName(platform)];
      (outcome.ok ? perApp.succeeded : perApp.failed).inc();
    }
    series.sendSeconds.observe(ptime);
    series.dwellSeconds.observe(Math.max(0, (Date.now() - push.notification.acceptedAt) / 1000 - ptime));
  }

  private retried({ platform, reason }: RetriedPush): void {
    this.of(platform).retried.get(reason).inc();
  }
}
