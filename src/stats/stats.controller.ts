import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '../openapi/openapi.decorators';
import { PushCounters, type AppCounters, type PlatformCounters } from '../push/push.counters';
import { PushQueue } from '../push/push.queue';
import { PushDispatcher } from '../push/push.dispatcher';
import { GAURUN_STATS_EXAMPLE } from './gaurun-stats';
import { RuntimeFigures } from './runtime.openapi';
import { RuntimeStats } from './runtime.stats';

export interface AppStats {
  queue_max: number;
  queue_usage: number;
  pusher_max: number;
  pusher_count: number;
  concurrency: number;
  accepted: number;
  retrying: number;
  ios: PlatformStats;
  android: PlatformStats;
  /** The same counters for each configured app, with its sends in flight and pushes parked at its limit. */
  apps: Record<string, AppStatsOfApp>;
}

/** A platform's counters, with the pushes skipped because the platform is disabled. */
export interface PlatformStats extends PlatformCounters {
  push_disabled: number;
}

export interface AppStatsOfApp extends AppCounters {
  in_flight: number;
  parked: number;
}

function emptyCounters(): PlatformCounters {
  return { push_success: 0, push_error: 0, retries: 0, errors: {} };
}

class PlatformCountersDto implements PlatformCounters {
  @ApiProperty({ type: 'integer', example: 120 }) readonly push_success!: number;
  @ApiProperty({ type: 'integer', example: 3 }) readonly push_error!: number;
  @ApiProperty({ type: 'integer', example: 2, description: 'Retries scheduled.' }) readonly retries!: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Final failures by reason.',
    example: { BadDeviceToken: 2, Unregistered: 1 },
  })
  readonly errors!: Record<string, number>;
}

class PlatformStatsDto extends PlatformCountersDto implements PlatformStats {
  @ApiProperty({ type: 'integer', example: 0, description: 'Pushes skipped because the platform is disabled (logged as `disabled-push`).' })
  readonly push_disabled!: number;
}

class AppStatsDto implements AppStats {
  @ApiProperty({ type: 'integer', example: 8192 }) readonly queue_max!: number;
  @ApiProperty({ type: 'integer', example: 0 }) readonly queue_usage!: number;
  @ApiProperty({ type: 'integer', example: 510, description: 'core.pusher_max x core.workers, as Gaurun reported it.' })
  readonly pusher_max!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'Sends in flight.' }) readonly pusher_count!: number;
  @ApiProperty({ type: 'integer', example: 512, description: 'core.workers x (pusher_max + 1).' }) readonly concurrency!: number;
  @ApiProperty({ type: 'integer', example: 123, description: 'Pushes accepted since start.' }) readonly accepted!: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'Pushes waiting for a retry.' }) readonly retrying!: number;
  @ApiProperty({ type: PlatformStatsDto }) readonly ios!: PlatformStats;
  @ApiProperty({ type: PlatformStatsDto }) readonly android!: PlatformStats;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'Per configured app (`default` is `[ios]` / `[android]`): `ios` and `android` counters as above, `in_flight`, `parked`.',
    example: { default: { ios: { push_success: 120, push_error: 3, retries: 2, errors: {} }, android: {}, in_flight: 0, parked: 0 } },
  })
  readonly apps!: Record<string, AppStatsOfApp>;
}

const RUNTIME_EXAMPLE = {
  pid: 1,
  uptime_seconds: 3600,
  versions: { node: 'v24.21.0', v8: '13.6.233.17-node.40', uv: '1.51.0' },
  memory: {
    rss: 98_000_000,
    heap_total: 40_000_000,
    heap_used: 30_000_000,
    heap_limit: 4_345_298_944,
    external: 3_000_000,
    array_buffers: 200_000,
  },
  cpu_microseconds: { user: 1_200_000, system: 300_000 },
  event_loop_delay: { window_seconds: 10, p50_ms: 10.1, p99_ms: 12.3, max_ms: 20.4 },
  active_resources: 12,
};

@ApiTags('stats')
@Controller()
export class StatsController {
  constructor(
    private readonly queue: PushQueue,
    private readonly dispatcher: PushDispatcher,
    private readonly counters: PushCounters,
    private readonly runtime: RuntimeStats,
  ) {}

  @Get('stat/app')
  @ApiOperation({ summary: "Queue and delivery counters since start (Gaurun's /stat/app)" })
  @ApiOkResponse({ type: AppStatsDto })
  app(): AppStats {
    return {
      queue_max: this.queue.capacity,
      queue_usage: this.queue.size,
      pusher_max: this.dispatcher.pusherMaxTotal,
      pusher_count: this.dispatcher.active,
      concurrency: this.dispatcher.concurrency,
      accepted: this.counters.accepted,
      retrying: this.dispatcher.retrying,
      ios: { ...this.counters.ios, push_disabled: this.counters.disabled.ios },
      android: { ...this.counters.android, push_disabled: this.counters.disabled.android },
      apps: this.apps(),
    };
  }

  private apps(): Record<string, AppStatsOfApp> {
    const apps: Record<string, AppStatsOfApp> = {};
    for (const [name, activity] of Object.entries(this.dispatcher.appActivity())) {
      const counters = this.counters.apps[name] ?? { ios: emptyCounters(), android: emptyCounters() };
      apps[name] = { ...counters, ...activity };
    }
    return apps;
  }

  @Get('stat/runtime')
  @RuntimeFigures('Node.js runtime figures', RUNTIME_EXAMPLE)
  runtimeStats(): Record<string, unknown> {
    return this.runtime.snapshot();
  }

  @Get('stat/go')
  @RuntimeFigures("Gaurun's /stat/go keys filled with Node.js figures (docs/gaurun-stat-go.md), then those of /stat/runtime", {
    ...GAURUN_STATS_EXAMPLE,
    ...RUNTIME_EXAMPLE,
  })
  gaurunStats(): Record<string, unknown> {
    return this.runtime.gaurunSnapshot();
  }
}
