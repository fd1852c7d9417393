// Scenario 1: a burst of requests of 100 notifications x 10 tokens (half iOS, half Android) from 4 connections,
// timed from the first request to the server's last answer, with the gateway's CPU (all threads) and memory.

import type { Bench } from '../lib/bench.ts';
import { accessLogBytes, startGateway } from '../lib/gateway.ts';
import { LOAD_CONNECTIONS, PUSHES_PER_REQUEST, load, warmUp } from '../lib/load.ts';
import { log, sleep, stopChild } from '../lib/processes.ts';
import { procStat, threadCores, threadCpu } from '../lib/proc.ts';
import type { Provider } from '../lib/provider.ts';
import { latencyStats, percentile, round } from '../lib/stats.ts';

export async function scenarioEndToEnd(bench: Bench, provider: Provider, { profileName }: { profileName?: string } = {}) {
  const gw = await startGateway(bench, provider, {}, { profileName });
  const pid = gw.child.pid ?? 0;
  await warmUp(provider, gw.url, 5);
  await provider.reset();
  const total = Math.ceil(bench.size.e2ePushes / PUSHES_PER_REQUEST) * PUSHES_PER_REQUEST;
  const requests = total / PUSHES_PER_REQUEST;
  log(
    `${provider.name}, scenario 1: ${requests} requests x ${PUSHES_PER_REQUEST} pushes, ${LOAD_CONNECTIONS} connections, concurrency ${bench.concurrency}`,
  );

  const logBytes0 = accessLogBytes(gw);
  const gwCpu0 = gw.proc().cpuUs;
  const providerCpu0 = procStat(provider.child.pid ?? 0).cpuUs;
  const selfCpu0 = process.cpuUsage();
  const threads0 = threadCpu(pid);
  const t0 = performance.now();
  const samples: { t: number; answered: number; rss: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const answered = await provider.answered();
      samples.push({ t: (performance.now() - t0) / 1000, answered, rss: gw.proc().rss });
      await sleep(250);
    }
  })();
  const accepted = await load(gw.url, { amount: requests });
  const acceptedAtS = (performance.now() - t0) / 1000;
  const threadsAccepted = threadCpu(pid);
  await provider.waitFor(total, 300_000);
  const elapsedS = (performance.now() - t0) / 1000;
  const threadsEnd = threadCpu(pid);
  const end = gw.proc();
  sampling = false;
  await sampler;
  samples.push({ t: elapsedS, answered: total, rss: end.rss });
  const gwCpuUs = end.cpuUs - gwCpu0;
  const providerCpuUs = procStat(provider.child.pid ?? 0).cpuUs - providerCpu0;
  const selfCpu = process.cpuUsage(selfCpu0);
  const app = await gw.app();
  const counts = await provider.counts();
  const logBytes = accessLogBytes(gw) - logBytes0;
  await stopChild(gw.child, 'SIGTERM');
  if (accepted.responses.some((r) => r[2] !== 200)) throw new Error(`${provider.name}, scenario 1: some POST /push requests were refused`);

  // Timeline: delivery rate per sampling interval, accept p99 per second of completion.
  const delivered: [number, number][] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i].t - samples[i - 1].t;
    if (dt > 0.05) delivered.push([round(samples[i].t, 2), Math.round((samples[i].answered - samples[i - 1].answered) / dt)]);
  }
  const perSecond = new Map<number, number[]>();
  for (const [atMs, latency] of accepted.responses) {
    const s = Math.floor(atMs / 1000);
    perSecond.set(s, [...(perSecond.get(s) ?? []), latency]);
  }
  const p99: [number, number][] = [...perSecond].map(([s, l]) => [
    s + 0.5,
    round(
      percentile(
        l.sort((a, b) => a - b),
        99,
      ),
      2,
    ),
  ]);

  return {
    pushes: total,
    requests,
    elapsedS: round(elapsedS, 2),
    pushesPerSec: Math.round(total / elapsedS),
    acceptedInS: round(acceptedAtS, 2),
    // CPU of all the gateway's threads, from /proc.
    gatewayCpuUsPerPush: round(gwCpuUs / total, 1),
    gatewayCpuCores: round(gwCpuUs / 1e6 / elapsedS, 2),
    providerCpuCores: round(providerCpuUs / 1e6 / elapsedS, 2),
    harnessCpuCores: round((selfCpu.user + selfCpu.system) / 1e6 / elapsedS, 2),
    // Cores used by the gateway's threads while the requests arrive, and after.
    gatewayThreadCores: {
      burst: threadCores(threads0, threadsAccepted, acceptedAtS),
      after: threadCores(threadsAccepted, threadsEnd, elapsedS - acceptedAtS),
    },
    peakRssBytes: end.hwm,
    accessLogBytesPerPush: round(logBytes / total, 1),
    accept: latencyStats(accepted.responses),
    gatewayCounters: { ios: app.ios, android: app.android },
    providerCounts: counts,
    timeline: { acceptedInS: round(acceptedAtS, 2), delivered, p99, rss: samples.map((s): [number, number] => [round(s.t, 2), s.rss]) },
  };
}

export type EndToEnd = Awaited<ReturnType<typeof scenarioEndToEnd>>;
