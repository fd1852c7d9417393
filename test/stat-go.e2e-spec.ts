import { type Gateway, simulatedGatewayForSuite } from './support/gateway';

describe("GET /stat/go (Gaurun's golang-stats-api-handler keys)", () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started));

  it('answers every key Gaurun dashboards poll, beside the Node.js figures of /stat/runtime', async () => {
    const { body } = await gw.http.get('/stat/go').expect(200);
    const stats = body as Record<string, unknown>;
    for (const key of [
      'time',
      'cpu_num',
      'goroutine_num',
      'gomaxprocs',
      'cgo_call_num',
      'memory_alloc',
      'memory_total_alloc',
      'memory_sys',
    ]) {
      expect(typeof stats[key]).toBe('number');
    }
    for (const key of ['memory_lookups', 'memory_mallocs', 'memory_frees', 'memory_stack', 'heap_alloc', 'heap_sys', 'heap_idle']) {
      expect(typeof stats[key]).toBe('number');
    }
    for (const key of [
      'heap_inuse',
      'heap_released',
      'heap_objects',
      'gc_next',
      'gc_last',
      'gc_num',
      'gc_per_second',
      'gc_pause_per_second',
    ]) {
      expect(typeof stats[key]).toBe('number');
    }
    expect(stats).toEqual(expect.objectContaining({ go_version: process.version, go_os: process.platform, go_arch: process.arch }));
    expect(Array.isArray(stats.gc_pause)).toBe(true);
    expect(stats.heap_alloc).toBeGreaterThan(0);
    // Both the resident set size, read a moment apart.
    const rss = (stats.memory as { rss: number }).rss;
    expect(Math.abs(rss - (stats.memory_sys as number))).toBeLessThan(rss * 0.1);
    expect(stats.event_loop_delay).toEqual(expect.objectContaining({ window_seconds: 10 }));
  });

  it('leaves /stat/runtime as it was', async () => {
    const { body } = await gw.http.get('/stat/runtime').expect(200);
    expect(body).not.toHaveProperty('go_version');
    expect((body as { memory: { rss: number } }).memory.rss).toBeGreaterThan(0);
  });
});
