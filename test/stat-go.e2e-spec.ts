import { GO_STATS_KEYS, GO_STATS_NON_NUMBERS } from './support/gaurun';
import { type Gateway, simulatedGatewayForSuite } from './support/gateway';

describe("GET /stat/go (Gaurun's golang-stats-api-handler keys)", () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started));

  it('answers every key Gaurun dashboards poll, beside the Node.js figures of /stat/runtime', async () => {
    const { body } = await gw.http.get('/stat/go').expect(200);
    const stats = body as Record<string, unknown>;
    for (const key of GO_STATS_KEYS.filter((k) => !GO_STATS_NON_NUMBERS.includes(k)))
      expect([key, typeof stats[key]]).toEqual([key, 'number']);
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
