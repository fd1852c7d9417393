// Scenario 7: a burst of large requests. 4 posters send 100 requests of one notification to 1,000 tokens each
// (iOS and Android alternating), timed from the first request to the provider's last answer.

import type { Bench } from '../lib/bench.ts';
import { startFlags, startGateway } from '../lib/gateway.ts';
import { load, singleNotificationBodies, warmUp } from '../lib/load.ts';
import { log, stopChild } from '../lib/processes.ts';
import type { Provider } from '../lib/provider.ts';
import { latencyStats, round } from '../lib/stats.ts';

export const BURST = { tokensPerRequest: 1000, posters: 4 };
const BURST_BODIES = singleNotificationBodies(16, BURST.tokensPerRequest);

export async function scenarioBurst(bench: Bench, provider: Provider) {
  const gw = await startGateway(bench, provider);
  const idle = gw.proc();
  await warmUp(provider, gw.url, 2);
  await provider.reset();
  const requests = bench.size.burstRequests;
  const total = requests * BURST.tokensPerRequest;
  log(`${provider.name}, scenario 7: ${requests} requests x ${BURST.tokensPerRequest} tokens from ${BURST.posters} posters`);
  const cpu0 = gw.proc().cpuUs;
  const t0 = performance.now();
  const r = await load(gw.url, { amount: requests, connections: BURST.posters, bodies: BURST_BODIES });
  const acceptedS = (performance.now() - t0) / 1000;
  await provider.waitFor(total, 300_000);
  const elapsedS = (performance.now() - t0) / 1000;
  const end = gw.proc();
  await stopChild(gw.child, 'SIGTERM');
  if (r.responses.some((x) => x[2] !== 200)) throw new Error(`${provider.name}, scenario 7: some POST /push requests were refused`);
  return {
    requests,
    tokensPerRequest: BURST.tokensPerRequest,
    posters: BURST.posters,
    pushes: total,
    elapsedS: round(elapsedS, 2),
    pushesPerSec: Math.round(total / elapsedS),
    acceptedInS: round(acceptedS, 2),
    gatewayCpuUsPerPush: round((end.cpuUs - cpu0) / total, 1),
    idleRssBytes: idle.rss,
    peakRssBytes: end.hwm,
    /** The Node flags the gateway ran with: its start script's, which size V8's young generation. */
    nodeFlags: startFlags(bench.dist),
    accept: latencyStats(r.responses),
  };
}

export type Burst = Awaited<ReturnType<typeof scenarioBurst>>;
