// The printed table and the machine description of a run's results.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CPUS } from './lib/bench.ts';
import { ROOT, spawnChild } from './lib/processes.ts';
import type { ServerName } from './lib/provider.ts';
import { round } from './lib/stats.ts';
import type { Accept } from './scenarios/accept.ts';
import type { Burst } from './scenarios/burst.ts';
import type { EndToEnd } from './scenarios/end-to-end.ts';
import type { Limits } from './scenarios/limits.ts';
import type { ManyConnections } from './scenarios/many-connections.ts';
import type { Memory } from './scenarios/memory.ts';
import type { Slow } from './scenarios/slow.ts';

/** Every figure of one server's run. */
export interface ServerRun {
  limits: Limits;
  e2e: EndToEnd & { runs?: number[] };
  ratioToHttp2: number;
  accept: Accept;
  /** Only against a server whose latency changes in place (the simulator). */
  memory?: Memory;
  slow: Slow;
  manyConnections: ManyConnections;
  burst: Burst;
}

export type Servers = Record<ServerName, ServerRun | { skipped: string }>;

export const n = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : String(v));
export const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
const pct = (r: number): string => `${(r * 100).toFixed(0)}%`;
const verdict = (ok: boolean): string => (ok ? 'yes' : 'NO');
const best = (runs: number[] | undefined): string => (runs ? ` (best of ${runs.map(n).join(', ')})` : '');

type Row = [scenario: string, figure: string, value: string, target: string, met: string];

function rows(run: ServerRun): Row[] {
  const { limits, e2e, accept, memory, slow, manyConnections: many, burst } = run;
  const out: Row[] = [
    [
      '1 end to end',
      `pushes/s, ${n(e2e.pushes)} mixed pushes`,
      `${n(e2e.pushesPerSec)}${best(e2e.runs)}`,
      '>= 10,000',
      verdict(e2e.pushesPerSec >= 10_000),
    ],
    ['1 end to end', 'gateway / bare node:http2 (mixed)', pct(run.ratioToHttp2), '>= 80%', verdict(run.ratioToHttp2 >= 0.8)],
    [
      '1 end to end',
      'gateway CPU per push (all threads, /proc)',
      `${e2e.gatewayCpuUsPerPush} us`,
      '< 100 us',
      verdict(e2e.gatewayCpuUsPerPush < 100),
    ],
    ['1 end to end', 'gateway peak RSS', mb(e2e.peakRssBytes), '', ''],
    [
      '1 end to end',
      'CPU cores used: gateway / server / harness',
      `${e2e.gatewayCpuCores} / ${e2e.providerCpuCores} / ${e2e.harnessCpuCores}`,
      '',
      '',
    ],
    [
      '1 end to end',
      'gateway threads, cores during / after the burst: main, transport, V8+libuv helpers',
      (['burst', 'after'] as const).map((phase) => Object.values(e2e.gatewayThreadCores[phase]).join(' / ')).join('; '),
      '',
      '',
    ],
    ['1 end to end', 'POST /push p50 / p99 / max (burst)', `${e2e.accept.p50Ms} / ${e2e.accept.p99Ms} / ${e2e.accept.maxMs} ms`, '', ''],
    ['1 end to end', 'access log per push', `${e2e.accessLogBytesPerPush} bytes`, '', ''],
  ];
  for (const r of Object.values(limits)) {
    out.push(['2 limits', r.label, `${n(r.pushesPerSec)}/s${best(r.runs)}, ${r.clientCpuUsPerPush} us CPU/push`, '', '']);
  }
  const { paced, max } = accept;
  out.push(
    [
      '3 accept path',
      `p50 / p99 / max at ${paced.requestsPerSec} req/s evenly spaced (100 x 10), delivering`,
      `${paced.p50Ms} / ${paced.p99Ms} / ${paced.maxMs} ms`,
      'p99 < 20 ms',
      verdict(paced.p99Ms < 20),
    ],
    ['3 accept path', 'delivery during the paced phase', `${n(paced.deliveredPerSec)}/s`, '', ''],
    [
      '3 accept path',
      "the same by the gateway's own histogram: p50 / p99 (interpolated), share within 20 ms",
      `${paced.gateway.p50Ms} / ${paced.gateway.p99Ms} ms, ${(paced.gateway.shareWithin20Ms * 100).toFixed(1)}%`,
      '',
      '',
    ],
    [
      '3 accept path',
      'gateway main thread during the paced phase: running / runnable but waiting for a CPU',
      `${paced.mainThread.running} / ${paced.mainThread.waitingForCpu} of the time`,
      '',
      '',
    ],
    [
      '3 accept path',
      `how late the harness sent, p99 / max (its own wait for a CPU, not counted above; niceness ${paced.harnessPriorityRaised ? '-10' : '0'})`,
      `${paced.senderLateP99Ms} / ${paced.senderLateMaxMs} ms`,
      '',
      '',
    ],
    [
      '3 accept path',
      'highest sustained rate (8 connections)',
      `${max.requestsPerSec} req/s = ${n(max.pushesAcceptedPerSec)} pushes/s`,
      '',
      '',
    ],
    ['3 accept path', 'p99 / delivery during the unthrottled phase', `${max.p99Ms} ms / ${n(max.deliveredPerSec)}/s`, '', ''],
  );
  if (memory) {
    out.push(
      [
        '4 memory',
        'idle RSS: at start / after a full GC',
        `${mb(memory.idleRssBytes)} / ${mb(memory.idleRssAfterCollectionBytes)}`,
        '< 80 MB',
        verdict(memory.idleRssAfterCollectionBytes < 80 * 1024 * 1024),
      ],
      [
        '4 memory',
        `RSS with ${n(memory.queued)} pushes queued, after a full GC`,
        `${mb(memory.rssAfterBytes)} (idle ${mb(memory.rssBeforeBytes)})`,
        '< 512 MB',
        verdict(memory.rssAfterBytes < 512 * 1024 * 1024),
      ],
      [
        '4 memory',
        'RSS / heap per queued push, after a full GC',
        `${memory.rssBytesPerQueuedPush} / ${memory.heapBytesPerQueuedPush} bytes`,
        '< 300 bytes',
        verdict(memory.rssBytesPerQueuedPush < 300),
      ],
      [
        '4 memory',
        'RSS / heap per queued push, right after the last request',
        `${memory.beforeCollection.rssBytesPerQueuedPush} / ${memory.beforeCollection.heapBytesPerQueuedPush} bytes`,
        '',
        '',
      ],
      [
        '4 memory',
        'POST /push p50 / p99 / max while filling (1 connection, no delivery)',
        `${memory.acceptWithoutDelivery.p50Ms} / ${memory.acceptWithoutDelivery.p99Ms} / ${memory.acceptWithoutDelivery.maxMs} ms`,
        '',
        '',
      ],
    );
  } else {
    out.push(['4 memory', 'not run: needs a server whose latency changes under a connected gateway', '', '', '']);
  }
  out.push(
    [
      '5 slow server',
      `${slow.latencyMs} ms/push, concurrency ${slow.concurrency}: first request to last push`,
      `${n(slow.pushesPerSec)} of ${n(slow.theoreticalPerSec)}/s (${pct(slow.ratio)})`,
      '>= 90%',
      verdict(slow.ratio >= 0.9),
    ],
    [
      '5 slow server',
      'steady state (after the accept burst, to 90%)',
      `${n(slow.steadyPushesPerSec)} of ${n(slow.theoreticalPerSec)}/s (${pct(slow.steadyRatio)})`,
      '>= 90%',
      verdict(slow.steadyRatio >= 0.9),
    ],
    [
      '6 many connections',
      `accepted 1-token requests/s, ${many.connections} connections, server at ${many.latencyMs} ms`,
      `${n(many.acceptedPerSec)}/s`,
      '',
      '',
    ],
    ['6 many connections', 'POST /push p50 / p99 / max while delivering', `${many.p50Ms} / ${many.p99Ms} / ${many.maxMs} ms`, '', ''],
    [
      '6 many connections',
      'delivered meanwhile (of concurrency / latency at most)',
      `${n(many.deliveredPerSec)} of ${n(many.deliveryBoundPerSec)}/s`,
      '',
      '',
    ],
    [
      '7 burst',
      `pushes/s, ${burst.requests} requests x ${n(burst.tokensPerRequest)} tokens from ${burst.posters} posters, end to end`,
      n(burst.pushesPerSec),
      '',
      '',
    ],
    ['7 burst', 'gateway CPU per push (all threads) / peak RSS', `${burst.gatewayCpuUsPerPush} us / ${mb(burst.peakRssBytes)}`, '', ''],
    [
      '7 burst',
      'gateway peak RSS (idle before it)',
      `${mb(burst.peakRssBytes)} (${mb(burst.idleRssBytes)})`,
      '< 200 MB',
      verdict(burst.peakRssBytes < 200 * 1024 * 1024),
    ],
  );
  return out;
}

/** One table, a block of rows per server. */
export function table(servers: Servers): string {
  const head = ['scenario', 'server', 'figure', 'value', 'target', 'met'];
  const all: string[][] = [];
  for (const [name, run] of Object.entries(servers)) {
    if ('skipped' in run) all.push(['-', name, `skipped: ${run.skipped}`, '', '', '']);
    else for (const [scenario, ...rest] of rows(run)) all.push([scenario, name, ...rest]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...all.map((r) => r[i].length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.map(line)].join('\n');
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model,
    cpus: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
  };
}

export function versions(go: string | undefined) {
  const version = (file: string): string | undefined => {
    try {
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const packages = ['@nestjs/core', 'apns2', 'firebase-admin', 'pino', 'autocannon'];
  return {
    node: process.version,
    v8: process.versions.v8,
    pushgate: version(path.join(ROOT, 'package.json')),
    ...Object.fromEntries(packages.map((p) => [p, version(path.join(ROOT, 'node_modules', p, 'package.json'))])),
    go,
  };
}

/**
 * CPU this machine actually gives: one busy loop per CPU for a second, summed CPU time over wall time. A shared
 * VM can hand out fewer cores than it shows, which moves every figure here; the JSON keeps this beside them.
 */
export async function effectiveCores(): Promise<number> {
  const spin = `const t=Date.now();while(Date.now()-t<1000);const c=process.cpuUsage();console.log(c.user+c.system)`;
  const kids = Array.from({ length: CPUS }, () => spawnChild('calibration', ['-e', spin]));
  await Promise.all(kids.map((k) => k.exited));
  const us = kids.reduce((sum, k) => sum + Number(k.output.trim().split('\n').pop()), 0);
  return round(us / 1e6, 2);
}
