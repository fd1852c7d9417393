// Scenario 2: what a client alone reaches against the server, each in a process of its own (bench/bare.ts):
// bare node:http2 (the ceiling for the gateway), apns2 and the gateway's clients without HTTP or queue,
// firebase-admin.

import path from 'node:path';
import type { Bench } from '../lib/bench.ts';
import { BENCH, log, spawnChild } from '../lib/processes.ts';
import { procStat } from '../lib/proc.ts';
import type { Provider } from '../lib/provider.ts';
import { MESSAGE } from '../lib/load.ts';
import { round } from '../lib/stats.ts';

export type BareMode = 'http2-mixed' | 'http2-ios' | 'http2-android' | 'apns2' | 'gateway-clients' | 'firebase-admin';

/** What bench/bare.ts is given as its one JSON argument. */
export interface BareOptions {
  mode: BareMode;
  files: Provider['files'];
  apns: Provider['apns'];
  fcm: Provider['fcm'];
  sessions: number;
  concurrency: number;
  fcmSockets: number;
  warmup: number;
  total: number;
  message: string;
  dist: string;
}

/** What bench/bare.ts prints as its one JSON line. */
export interface BareOutput {
  mode: BareMode;
  pushes: number;
  ok: number;
  elapsedMs: number;
  cpuUs: number;
  rssBytes: number;
}

export const FIREBASE_SOCKETS = 64;

export interface BareResult {
  mode: BareMode;
  pushes: number;
  pushesPerSec: number;
  clientCpuUsPerPush: number;
  providerCpuShare: number;
}

export async function bareClient(bench: Bench, provider: Provider, mode: BareMode, total: number): Promise<BareResult> {
  const options: BareOptions = {
    mode,
    files: provider.files,
    apns: provider.apns,
    fcm: provider.fcm,
    sessions: bench.gateway.keepaliveConns,
    concurrency: bench.concurrency,
    fcmSockets: FIREBASE_SOCKETS,
    warmup: Math.min(5000, total / 10),
    total,
    message: MESSAGE,
    dist: bench.dist,
  };
  const child = spawnChild(`bare ${mode}`, [path.join(BENCH, 'bare.ts'), JSON.stringify(options)]);
  const providerCpu0 = procStat(provider.child.pid ?? 0).cpuUs;
  const { code } = await child.exited;
  const providerCpuUs = procStat(provider.child.pid ?? 0).cpuUs - providerCpu0;
  const line = child.output.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || !line) throw new Error(`bare ${mode} against ${provider.name} failed (${code}):\n${child.output}`);
  const r = JSON.parse(line) as BareOutput;
  if (r.ok !== r.pushes)
    throw new Error(`bare ${mode} against ${provider.name}: only ${r.ok} of ${r.pushes} pushes succeeded:\n${child.output}`);
  return {
    mode,
    pushes: r.pushes,
    pushesPerSec: Math.round(r.pushes / (r.elapsedMs / 1000)),
    clientCpuUsPerPush: round(r.cpuUs / r.pushes, 1),
    providerCpuShare: round(providerCpuUs / 1000 / r.elapsedMs, 2),
  };
}

export type Limits = Partial<Record<BareMode, BareResult & { label: string; runs?: number[] }>> & {
  'http2-mixed': BareResult & { label: string; runs?: number[] };
};

/**
 * Every client against the simulator; against another server the ceiling (bare node:http2) and the gateway's own
 * clients, the two figures the gateway is compared with.
 */
export async function scenarioLimits(bench: Bench, provider: Provider): Promise<Limits> {
  const { size } = bench;
  const modes: [BareMode, number, string][] = [
    ['http2-mixed', size.bare, 'bare node:http2, mixed iOS/Android (the ceiling)'],
    ['http2-ios', size.bare, 'bare node:http2, iOS only'],
    ['apns2', size.bare, 'apns2 as the gateway configures it (GatewayApnsClient), iOS only'],
    ['gateway-clients', size.bare, "the gateway's two clients without HTTP/queue/log, mixed"],
    [
      'firebase-admin',
      size.bareFirebase,
      `firebase-admin sendEach, HTTP/1.1 legacy transport, ${FIREBASE_SOCKETS} keep-alive sockets, Android only`,
    ],
  ];
  const chosen = provider.name === 'simulator' ? modes : modes.filter(([mode]) => mode === 'http2-mixed' || mode === 'gateway-clients');
  const out: Partial<Limits> = {};
  for (const [mode, total, label] of chosen) {
    log(`${provider.name}, scenario 2: ${label}, ${total} pushes, ${bench.concurrency} in flight`);
    out[mode] = { label, ...(await bareClient(bench, provider, mode, total)) };
  }
  return out as Limits;
}

/** The ceiling once more (the machine is shared): the better of the two runs counts. */
export async function ceilingAgain(bench: Bench, provider: Provider, limits: Limits): Promise<void> {
  log(`${provider.name}, scenario 2: bare node:http2, mixed, again after scenario 1`);
  const again = await bareClient(bench, provider, 'http2-mixed', bench.size.bare);
  const first = limits['http2-mixed'];
  const runs = [first.pushesPerSec, again.pushesPerSec];
  limits['http2-mixed'] = again.pushesPerSec > first.pushesPerSec ? { ...again, label: first.label, runs } : { ...first, runs };
}
