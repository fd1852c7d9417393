// Scenario 5: a slow provider (50 ms per answer). The gateway's concurrency bounds delivery at
// concurrency / latency; how close it gets, from the first request and in the steady state.

import type { Bench } from '../lib/bench.ts';
import { startGateway } from '../lib/gateway.ts';
import { PUSHES_PER_REQUEST, load, warmUp } from '../lib/load.ts';
import { log, stopChild } from '../lib/processes.ts';
import type { Provider } from '../lib/provider.ts';
import { round } from '../lib/stats.ts';

/** A lower concurrency than the default, so that concurrency / latency stays well inside what the machine does. */
export const SLOW = { latencyMs: 50, pusherMax: 127 };

export function scenarioSlow(bench: Bench, provider: Provider) {
  const workers = bench.gateway.workers;
  return provider.withLatency(SLOW.latencyMs, async (slow) => {
    const gw = await startGateway(bench, slow, { workers, pusherMax: SLOW.pusherMax });
    await warmUp(slow, gw.url, 2);
    await slow.reset();
    const concurrency = workers * (SLOW.pusherMax + 1);
    const theoretical = Math.round(concurrency / (SLOW.latencyMs / 1000));
    const requests = Math.ceil(bench.size.slowPushes / PUSHES_PER_REQUEST);
    const total = requests * PUSHES_PER_REQUEST;
    log(`${provider.name}, scenario 5: ${total} pushes, latency ${SLOW.latencyMs} ms, concurrency ${concurrency}`);
    const t0 = performance.now();
    await load(gw.url, { amount: requests });
    // Steady state: from the end of the accept burst (which holds the event loop) until 90% are answered.
    const steady0 = { t: performance.now(), answered: await slow.answered() };
    await slow.waitFor(Math.round(total * 0.9), 300_000);
    const steady1 = { t: performance.now(), answered: await slow.answered() };
    await slow.waitFor(total, 300_000);
    const elapsedS = (performance.now() - t0) / 1000;
    const app = await gw.app();
    await stopChild(gw.child, 'SIGKILL');
    const achieved = Math.round(total / elapsedS);
    const steady = Math.round((steady1.answered - steady0.answered) / ((steady1.t - steady0.t) / 1000));
    return {
      latencyMs: SLOW.latencyMs,
      concurrency,
      pushes: total,
      elapsedS: round(elapsedS, 2),
      pushesPerSec: achieved,
      theoreticalPerSec: theoretical,
      ratio: round(achieved / theoretical, 3),
      steadyPushesPerSec: steady,
      steadyRatio: round(steady / theoretical, 3),
      failed: app.ios.push_error + app.android.push_error,
    };
  });
}

export type Slow = Awaited<ReturnType<typeof scenarioSlow>>;
