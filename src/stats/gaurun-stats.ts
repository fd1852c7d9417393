import { availableParallelism } from 'node:os';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';

/** Pauses Go keeps (runtime.MemStats.PauseNs) and golang-stats-api-handler lists at most. */
const PAUSES_KEPT = 256;

/**
 * Gaurun's `/stat/go` object (golang-stats-api-handler), with Node.js figures in Go's places: the table in
 * docs/gaurun-stat-go.md says which figure each key carries. Sizes in bytes, times in ns since the epoch, pauses in ms.
 */
export interface GaurunRuntimeStats {
  time: number;
  go_version: string;
  go_os: string;
  go_arch: string;
  cpu_num: number;
  goroutine_num: number;
  gomaxprocs: number;
  cgo_call_num: number;
  memory_alloc: number;
  memory_total_alloc: number;
  memory_sys: number;
  memory_lookups: number;
  memory_mallocs: number;
  memory_frees: number;
  memory_stack: number;
  heap_alloc: number;
  heap_sys: number;
  heap_idle: number;
  heap_inuse: number;
  heap_released: number;
  heap_objects: number;
  gc_next: number;
  gc_last: number;
  gc_num: number;
  gc_per_second: number;
  gc_pause_per_second: number;
  gc_pause: number[];
}

/**
 * The garbage collections of this process, as Go's runtime counts them: how many, their pauses (perf_hooks `gc`
 * entries), when the last ended, and the bytes they reclaimed (V8's GC profiler, from which the bytes ever allocated
 * follow: reclaimed + in use now).
 */
export class GcRecord {
  count = 0;
  pauseTotalMs = 0;
  /** End of the last collection, ms since the epoch; 0 before the first. */
  lastEndMs = 0;
  reclaimedBytes = 0;
  /** The last {@link PAUSES_KEPT} pauses in ms, oldest first. */
  readonly pauses: number[] = [];
  // The wall clock at the collection's end, read back from now: `timeOrigin + startTime` runs on the monotonic clock,
  // which drifts from the wall clock (tens of ms after hours on a VM) while Go's LastGC, like Date.now(), is wall time.
  private readonly observer = new PerformanceObserver((list) => {
    const wallNow = Date.now();
    const monotonicNow = performance.now();
    for (const entry of list.getEntries()) this.record(entry.duration, wallNow - (monotonicNow - entry.startTime - entry.duration));
  });
  private readonly profiler = new GCProfiler();
  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
    this.profiler.start();
  }

  record(pauseMs: number, endMs: number): void {
    this.count += 1;
    this.pauseTotalMs += pauseMs;
    this.lastEndMs = Math.max(this.lastEndMs, endMs);
    this.pauses.push(pauseMs);
    if (this.pauses.length > PAUSES_KEPT) this.pauses.shift();
  }

  /** Takes in what the profiler gathered and starts it again, so that what it holds stays small. */
  collect(): void {
    // Typed as always returning a result; it returns nothing when the profiler was not running.
    const data = this.profiler.stop() as ReturnType<GCProfiler['stop']> | undefined;
    for (const gc of data?.statistics ?? []) {
      this.reclaimedBytes += Math.max(0, gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize);
    }
    this.profiler.start();
  }

  stop(): void {
    this.observer.disconnect();
    this.profiler.stop();
  }
}

/**
 * golang-stats-api-handler's `GetStats`: the rates and pause list describe the time since the previous call, as that
 * handler keeps them (`gc_pause_per_second` is, as there, the pause total in ms since the previous call).
 */
export class GaurunStatsSampler {
  private lastSampleMs = 0;
  private lastCount = 0;
  private lastPauseMs = 0;

  constructor(private readonly gc: GcRecord) {}

  sample(now = Date.now()): GaurunRuntimeStats {
    const { gc } = this;
    gc.collect();
    const heap = getHeapStatistics();
    const memory = process.memoryUsage();
    const sinceLast = gc.count - this.lastCount;
    const stats: GaurunRuntimeStats = {
      time: now * 1_000_000,
      go_version: process.version,
      go_os: process.platform,
      go_arch: process.arch,
      cpu_num: availableParallelism(),
      goroutine_num: process.getActiveResourcesInfo().length,
      gomaxprocs: 1,
      cgo_call_num: 0,
      memory_alloc: heap.used_heap_size,
      // Every byte allocated was either reclaimed or is in use (collections before the record began are missed).
      memory_total_alloc: gc.reclaimedBytes + heap.used_heap_size,
      memory_sys: memory.rss,
      memory_lookups: 0,
      memory_mallocs: 0,
      memory_frees: 0,
      memory_stack: 0,
      heap_alloc: heap.used_heap_size,
      heap_sys: heap.total_heap_size,
      heap_idle: Math.max(0, heap.total_heap_size - heap.used_heap_size),
      heap_inuse: heap.used_heap_size,
      heap_released: Math.max(0, heap.total_heap_size - heap.total_physical_size),
      heap_objects: 0,
      gc_next: heap.total_heap_size,
      gc_last: Math.round(gc.lastEndMs * 1_000_000),
      gc_num: gc.count,
      gc_per_second: this.lastCount > 0 ? sinceLast / Math.max((now - this.lastSampleMs) / 1000, 0.001) : 0,
      gc_pause_per_second: this.lastPauseMs > 0 ? gc.pauseTotalMs - this.lastPauseMs : 0,
      // Newest first, as Go's ring is read there.
      gc_pause: sinceLast > 0 ? gc.pauses.slice(-Math.min(sinceLast, PAUSES_KEPT)).reverse() : [],
    };
    this.lastCount = gc.count;
    this.lastPauseMs = gc.pauseTotalMs;
    this.lastSampleMs = now;
    return stats;
  }
}

/** A `/stat/go` answer's Gaurun keys, for the API description. */
export const GAURUN_STATS_EXAMPLE: GaurunRuntimeStats = {
  time: 1_764_500_000_000_000_000,
  go_version: 'v24.21.0',
  go_os: 'linux',
  go_arch: 'x64',
  cpu_num: 2,
  goroutine_num: 12,
  gomaxprocs: 1,
  cgo_call_num: 0,
  memory_alloc: 30_000_000,
  memory_total_alloc: 2_500_000_000,
  memory_sys: 98_000_000,
  memory_lookups: 0,
  memory_mallocs: 0,
  memory_frees: 0,
  memory_stack: 0,
  heap_alloc: 30_000_000,
  heap_sys: 40_000_000,
  heap_idle: 10_000_000,
  heap_inuse: 30_000_000,
  heap_released: 0,
  heap_objects: 0,
  gc_next: 40_000_000,
  gc_last: 1_764_499_999_000_000_000,
  gc_num: 420,
  gc_per_second: 0.5,
  gc_pause_per_second: 3.2,
  gc_pause: [1.1, 2.1],
};
