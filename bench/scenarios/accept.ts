// Scenario 3: the accept path while the gateway delivers. A backlog keeps delivery at full speed; then requests
// of 1,000 pushes arrive evenly spaced at the rate scenario 1 delivered, and finally as fast as 8 connections go.

import type { Bench } from '../lib/bench.ts';
import { pushRequestBuckets, startGateway } from '../lib/gateway.ts';
import { PUSHES_PER_REQUEST, load, paced, warmUp } from '../lib/load.ts';
import { log, stopChild } from '../lib/processes.ts';
import { schedStat } from '../lib/proc.ts';
import type { Provider } from '../lib/provider.ts';
import { bucketStats, latencyStats, round } from '../lib/stats.ts';

export async function scenarioAccept(bench: Bench, provider: Provider, deliveryRate: number) {
  const gw = await startGateway(bench, provider, { queues: 20_000_000 });
  const pid = gw.child.pid ?? 0;
  await warmUp(provider, gw.url, 5);
  // A backlog of a few seconds keeps delivery at full speed throughout.
  const backlogRequests = Math.ceil((deliveryRate * 4) / PUSHES_PER_REQUEST);
  await load(gw.url, { amount: backlogRequests, connections: 2 });
  const rate = Math.max(1, Math.round(deliveryRate / PUSHES_PER_REQUEST));
  log(
    `${provider.name}, scenario 3: backlog ${backlogRequests * PUSHES_PER_REQUEST} pushes, then ${rate} requests/s for ${bench.size.acceptSeconds} s`,
  );

  const phase = async <T>(run: () => Promise<T>) => {
    const a0 = await provider.answered();
    const buckets0 = await pushRequestBuckets(gw.url);
    const sched0 = schedStat(pid);
    const t0 = performance.now();
    const r = await run();
    const s = (performance.now() - t0) / 1000;
    const sched1 = schedStat(pid);
    const app = await gw.app();
    return {
      r,
      s,
      deliveredPerSec: Math.round(((await provider.answered()) - a0) / s),
      queueAfter: app.queue_usage,
      gateway: bucketStats(buckets0, await pushRequestBuckets(gw.url), 0.02),
      mainThread: {
        running: round((sched1.runNs - sched0.runNs) / 1e9 / s, 2),
        waitingForCpu: round((sched1.waitNs - sched0.waitNs) / 1e9 / s, 2),
      },
    };
  };
  const steady = await phase(() => paced(gw.url, { rate, seconds: bench.size.acceptSeconds }));
  log(`${provider.name}, scenario 3: unthrottled, 8 connections for ${bench.size.maxRateSeconds} s`);
  const max = await phase(() => load(gw.url, { duration: bench.size.maxRateSeconds, connections: 8 }));
  await stopChild(gw.child, 'SIGKILL');
  const maxStats = latencyStats(max.r.responses);
  return {
    paced: {
      requestsPerSec: rate,
      pushesPerRequest: PUSHES_PER_REQUEST,
      spacing: 'evenly spaced, open loop',
      ...latencyStats(steady.r.responses),
      harnessPriorityRaised: steady.r.raisedPriority,
      senderLateP99Ms: steady.r.lateP99Ms,
      senderLateMaxMs: steady.r.lateMaxMs,
      deliveredPerSec: steady.deliveredPerSec,
      queueAfter: steady.queueAfter,
      // The gateway's own clock (its histogram), from its middleware to the answer written.
      gateway: steady.gateway,
      // Shares of the phase's wall time: the gateway's main thread running, and runnable but waiting for a CPU.
      mainThread: steady.mainThread,
    },
    max: {
      connections: 8,
      seconds: round(max.s, 1),
      requestsPerSec: round(maxStats.ok / max.s, 1),
      pushesAcceptedPerSec: Math.round((maxStats.ok * PUSHES_PER_REQUEST) / max.s),
      ...maxStats,
      deliveredPerSec: max.deliveredPerSec,
      queueAfter: max.queueAfter,
    },
  };
}

export type Accept = Awaited<ReturnType<typeof scenarioAccept>>;
