import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { GaurunStatsSampler, GcRecord, type GaurunRuntimeStats } from './gaurun-stats';

const SAMPLE_MS = 10_000;

export interface EventLoopDelay {
  window_seconds: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Node.js runtime figures: the counterpart of Gaurun's `/stat/go`. */
@Injectable()
export class RuntimeStats implements OnModuleDestroy {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay> = monitorEventLoopDelay({ resolution: 10 });
  private lastWindow: EventLoopDelay = { window_seconds: SAMPLE_MS / 1000, p50_ms: 0, p99_ms: 0, max_ms: 0 };
  private readonly gc = new GcRecord();
  private readonly gaurun = new GaurunStatsSampler(this.gc);

  constructor() {
    this.histogram.enable();
  }

  /** Closes one event-loop delay window every 10 s, so the figures describe the recent past. */
  @Interval('event-loop-sample', SAMPLE_MS)
  sample(): void {
    const h = this.histogram;
    this.lastWindow = {
      window_seconds: SAMPLE_MS / 1000,
      p50_ms: h.count > 0 ? h.percentile(50) / 1e6 : 0,
      p99_ms: h.count > 0 ? h.percentile(99) / 1e6 : 0,
      max_ms: h.count > 0 ? h.max / 1e6 : 0,
    };
    h.reset();
    this.gc.collect();
  }

  snapshot(): Record<string, unknown> {
    const memory = process.memoryUsage();
    const heap = getHeapStatistics();
    const cpu = process.cpuUsage();
    return {
      pid: process.pid,
      uptime_seconds: Math.round(process.uptime()),
      versions: { node: process.version, v8: process.versions.v8, uv: process.versions.uv },
      memory: {
        rss: memory.rss,
        heap_total: memory.heapTotal,
        heap_used: memory.heapUsed,
        heap_limit: heap.heap_size_limit,
        external: memory.external,
        array_buffers: memory.arrayBuffers,
      },
      cpu_microseconds: { user: cpu.user, system: cpu.system },
      event_loop_delay: this.lastWindow,
      active_resources: process.getActiveResourcesInfo().length,
    };
  }

  /** Gaurun's `/stat/go` keys (golang-stats-api-handler's), then the figures of {@link snapshot}. */
  gaurunSnapshot(): GaurunRuntimeStats & Record<string, unknown> {
    return { ...this.gaurun.sample(), ...this.snapshot() };
  }

  onModuleDestroy(): void {
    this.histogram.disable();
    this.gc.stop();
  }
}
