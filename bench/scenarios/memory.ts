// Scenario 4: memory per queued push. One worker with pusher_max 0 sends one push at a time, and the server
// answers it after a second: the queue only grows while it is filled. It needs a server whose latency changes
// under a connected gateway (the simulator): the warm-up runs at full speed, the filling at one push a second.

import type { Bench } from '../lib/bench.ts';
import { startGateway } from '../lib/gateway.ts';
import { PUSHES_PER_REQUEST, load, warmUp } from '../lib/load.ts';
import { log, sleep, stopChild } from '../lib/processes.ts';
import type { Provider } from '../lib/provider.ts';
import { latencyStats, round } from '../lib/stats.ts';

export async function scenarioMemory(bench: Bench, provider: Provider) {
  if (!provider.latencyInPlace) throw new Error(`scenario 4 needs a server whose latency can change in place, not ${provider.name}`);
  const queued = bench.size.queuedPushes;
  const gw = await startGateway(bench, provider, { workers: 1, pusherMax: 0, queues: queued + 100_000 }, { inspect: true });
  // Idle RSS is defined one second after the gateway is ready (start-up's own timers and token fetch have run), before
  // any push; then again after a full collection, which gives the young generation back.
  await sleep(1000);
  const idle = gw.proc();
  await gw.collectGarbage();
  const idleCollected = gw.proc();
  await warmUp(provider, gw.url, 3);
  return provider.withLatency(1000, async () => {
    await sleep(1500);
    await gw.collectGarbage();
    const before = gw.proc();
    const heapBefore = (await gw.runtime()).memory.heap_used;
    const requests = Math.ceil(queued / PUSHES_PER_REQUEST);
    log(
      `${provider.name}, scenario 4: queueing ${requests * PUSHES_PER_REQUEST} pushes with delivery slowed to ~1/s, one request at a time`,
    );
    // One connection: each request's latency is then its own service time, with nothing else on the event loop.
    const r = await load(gw.url, { amount: requests, connections: 1 });
    const unforced = { after: gw.proc(), runtime: await gw.runtime() };
    await gw.collectGarbage();
    await sleep(1000);
    const after = gw.proc();
    const runtime = await gw.runtime();
    const app = await gw.app();
    await stopChild(gw.child, 'SIGKILL');
    if (r.responses.some((x) => x[2] !== 200)) throw new Error('scenario 4: some POST /push requests were refused');
    const inQueue = app.queue_usage;
    return {
      idleRssBytes: idle.rss,
      idleRssAfterCollectionBytes: idleCollected.rss,
      // Of the latter: the binary's and libraries' pages (shared with other processes running them) and the rest.
      idleRssFileBytes: idleCollected.rssFile,
      idleRssAnonBytes: idleCollected.rssAnon,
      queued: inQueue,
      rssBeforeBytes: before.rss,
      rssAfterBytes: after.rss,
      peakRssBytes: after.hwm,
      heapUsedBeforeBytes: heapBefore,
      heapUsedAfterBytes: runtime.memory.heap_used,
      rssBytesPerQueuedPush: round((after.rss - before.rss) / inQueue, 1),
      heapBytesPerQueuedPush: round((runtime.memory.heap_used - heapBefore) / inQueue, 1),
      // The same, measured at once after the last request, before a full collection.
      beforeCollection: {
        rssBytesPerQueuedPush: round((unforced.after.rss - before.rss) / inQueue, 1),
        heapBytesPerQueuedPush: round((unforced.runtime.memory.heap_used - heapBefore) / inQueue, 1),
      },
      fillSeconds: round(r.wallMs / 1000, 2),
      // The same requests as scenario 3, one at a time, with (almost) no delivery competing for the event loop.
      acceptWithoutDelivery: latencyStats(r.responses),
    };
  });
}

export type Memory = Awaited<ReturnType<typeof scenarioMemory>>;
