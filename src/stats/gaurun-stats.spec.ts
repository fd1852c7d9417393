import { availableParallelism } from 'node:os';
import { GO_STATS_KEYS } from '../../test/support/gaurun';
import { eventually } from '../../test/support/gateway';
import { GaurunStatsSampler, GcRecord } from './gaurun-stats';

/** Times are read from the wall clock in ms and reported in ns: rounding may put one a fraction of a ms off. */
const CLOCK_SKEW_MS = 1;

let garbage: unknown[] = [];
/**
 * Allocates until a collection that ended at or after `sinceMs` has been seen by the GC observer and the bytes it
 * reclaimed by the GC profiler (the two report separately, the profiler's statistics possibly a turn later). Node
 * hands GC entries to observers a turn after the collection, so a new record may first see one that ended before it
 * began: only a collection dated after `sinceMs` is known to be this call's.
 */
async function collectGarbage(gc: GcRecord, after: number, sinceMs: number): Promise<void> {
  const reclaimed = gc.reclaimedBytes;
  await eventually(() => {
    for (let i = 0; i < 200_000; i++) {
      garbage.push({ i, s: `x${i}` });
      if (garbage.length > 50_000) garbage = [];
    }
    gc.collect();
    return gc.count > after && gc.reclaimedBytes > reclaimed && gc.lastEndMs >= sinceMs;
  }, 10_000);
}

describe('GaurunStatsSampler', () => {
  let gc: GcRecord;
  /** When the record began. */
  let recordedFromMs: number;
  beforeEach(() => {
    recordedFromMs = Date.now();
    gc = new GcRecord();
  });
  afterEach(() => gc.stop());

  it("answers every key of Gaurun's /stat/go with Node.js figures", () => {
    const before = Date.now();
    const stats = new GaurunStatsSampler(gc).sample();
    expect(Object.keys(stats)).toEqual(GO_STATS_KEYS);
    expect(stats.time / 1e6).toBeGreaterThanOrEqual(before - CLOCK_SKEW_MS);
    expect(stats.time / 1e6).toBeLessThanOrEqual(Date.now() + CLOCK_SKEW_MS);
    expect(stats).toEqual(
      expect.objectContaining({
        go_version: process.version,
        go_os: process.platform,
        go_arch: process.arch,
        cpu_num: availableParallelism(),
      }),
    );
    expect(stats.goroutine_num).toBe(process.getActiveResourcesInfo().length);
    expect(stats.heap_alloc).toBeGreaterThan(1_000_000);
    expect(stats.heap_idle + stats.heap_inuse).toBe(stats.heap_sys);
    expect(stats.memory_sys).toBeGreaterThan(stats.heap_inuse);
    expect(stats.memory_total_alloc).toBeGreaterThanOrEqual(stats.memory_alloc);
    // golang-stats-api-handler reports no rate on its first sample.
    expect(stats.gc_per_second).toBe(0);
    expect(stats.gc_pause_per_second).toBe(0);
  });

  it('counts collections and their pauses, and describes those since the previous sample as the handler does', async () => {
    const sampler = new GaurunStatsSampler(gc);
    await collectGarbage(gc, 0, recordedFromMs);
    const first = sampler.sample();
    expect(first.gc_num).toBe(gc.count);
    expect(first.gc_pause).toHaveLength(Math.min(first.gc_num, 256));
    expect(first.gc_pause.every((ms) => ms > 0)).toBe(true);
    expect(first.gc_last / 1e6).toBeGreaterThanOrEqual(recordedFromMs - CLOCK_SKEW_MS);
    expect(first.gc_last / 1e6).toBeLessThanOrEqual(Date.now() + CLOCK_SKEW_MS);
    // A collection reclaimed what was allocated and dropped: more was allocated than is in use.
    expect(first.memory_total_alloc).toBeGreaterThan(first.memory_alloc);

    const quiet = sampler.sample();
    const newSince = quiet.gc_num - first.gc_num;
    expect(quiet.gc_pause).toHaveLength(newSince);

    await collectGarbage(gc, quiet.gc_num, recordedFromMs);
    const second = sampler.sample();
    const pauses = second.gc_pause;
    expect(pauses).toHaveLength(second.gc_num - quiet.gc_num);
    expect(second.gc_pause_per_second).toBeCloseTo(
      pauses.reduce((a, b) => a + b, 0),
      6,
    );
    expect(second.gc_per_second).toBeGreaterThan(0);
    expect(second.memory_total_alloc).toBeGreaterThan(first.memory_total_alloc);
  });

  it('dates the last collection on the wall clock, however far the monotonic clock has drifted from it', async () => {
    // The wall clock 30 s ahead of the process's monotonic clock (a VM's clock stepped by NTP, hours of slew).
    const realNow = Date.now.bind(Date);
    const wallNow = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_000);
    try {
      const sampler = new GaurunStatsSampler(gc);
      const from = Date.now();
      await collectGarbage(gc, 0, from);
      const stats = sampler.sample();
      expect(stats.gc_last / 1e6).toBeGreaterThanOrEqual(from - CLOCK_SKEW_MS);
      expect(stats.gc_last / 1e6).toBeLessThanOrEqual(Date.now() + CLOCK_SKEW_MS);
    } finally {
      wallNow.mockRestore();
    }
  });
});
