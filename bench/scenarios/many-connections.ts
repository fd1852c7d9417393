// Scenario 6: many small requests. 64 keep-alive connections post requests of one token each for a while, as fast
// as the gateway answers, while the provider takes 200 ms per push: the accept path with a queue that delivery
// cannot empty (concurrency / 200 ms per second at most), and deliveries completing all the while.

import type { Bench } from '../lib/bench.ts';
import { startGateway } from '../lib/gateway.ts';
import { load, singleNotificationBodies, warmUp } from '../lib/load.ts';
import { log, stopChild } from '../lib/processes.ts';
import type { Provider } from '../lib/provider.ts';
import { latencyStats, round } from '../lib/stats.ts';

export const MANY = { connections: 64, latencyMs: 200 };
const ONE_TOKEN_BODIES = singleNotificationBodies(256, 1);

export function scenarioManyConnections(bench: Bench, provider: Provider, { profileName }: { profileName?: string } = {}) {
  return provider.withLatency(MANY.latencyMs, async (slow) => {
    const gw = await startGateway(bench, slow, {}, { profileName });
    await warmUp(slow, gw.url, 1);
    const seconds = bench.size.manyConnectionsSeconds;
    log(
      `${provider.name}, scenario 6: 1-token requests from ${MANY.connections} connections for ${seconds} s, latency ${MANY.latencyMs} ms`,
    );
    const answered0 = await slow.answered();
    const cpu0 = gw.proc().cpuUs;
    const t0 = performance.now();
    const r = await load(gw.url, { duration: seconds, connections: MANY.connections, bodies: ONE_TOKEN_BODIES });
    const s = (performance.now() - t0) / 1000;
    const cpuUs = gw.proc().cpuUs - cpu0;
    const delivered = (await slow.answered()) - answered0;
    const app = await gw.app();
    const peakRss = gw.proc().hwm;
    // A profiled gateway writes its profile on a clean exit only.
    await stopChild(gw.child, profileName ? 'SIGTERM' : 'SIGKILL');
    const stats = latencyStats(r.responses);
    return {
      connections: MANY.connections,
      latencyMs: MANY.latencyMs,
      tokensPerRequest: 1,
      seconds: round(s, 1),
      acceptedPerSec: round(stats.ok / s, 1),
      ...stats,
      deliveredPerSec: Math.round(delivered / s),
      deliveryBoundPerSec: Math.round(bench.concurrency / (MANY.latencyMs / 1000)),
      queueAfter: app.queue_usage,
      gatewayCpuCores: round(cpuUs / 1e6 / s, 2),
      /** Gateway CPU (all threads) per accepted request, deliveries of the period included. */
      gatewayCpuUsPerRequest: round(cpuUs / Math.max(1, stats.ok), 1),
      peakRssBytes: peakRss,
    };
  });
}

export type ManyConnections = Awaited<ReturnType<typeof scenarioManyConnections>>;
