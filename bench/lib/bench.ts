// What every scenario is given: the options of the run, its sizes and the gateway's settings.

import os from 'node:os';
import path from 'node:path';
import { ROOT, BENCH } from './processes.ts';

export interface Size {
  e2ePushes: number;
  bare: number;
  bareFirebase: number;
  acceptSeconds: number;
  maxRateSeconds: number;
  queuedPushes: number;
  slowPushes: number;
  manyConnectionsSeconds: number;
  burstRequests: number;
  /** Whether the ceiling and scenario 1 run a second time, the better run counting. */
  repeat: boolean;
  deadlineMs: number;
}

export const SIZES: Record<'quick' | 'full', Size> = {
  // Small enough for a smoke run of every scenario against both servers in a minute or two.
  quick: {
    e2ePushes: 10_000,
    bare: 5_000,
    bareFirebase: 1_000,
    acceptSeconds: 2,
    maxRateSeconds: 2,
    queuedPushes: 50_000,
    slowPushes: 5_000,
    manyConnectionsSeconds: 2,
    burstRequests: 8,
    repeat: false,
    deadlineMs: 10 * 60_000,
  },
  full: {
    e2ePushes: 1_000_000,
    bare: 300_000,
    bareFirebase: 60_000,
    acceptSeconds: 30,
    maxRateSeconds: 10,
    queuedPushes: 1_000_000,
    slowPushes: 150_000,
    manyConnectionsSeconds: 20,
    burstRequests: 100,
    repeat: true,
    deadlineMs: 120 * 60_000,
  },
};

export interface GatewaySettings {
  workers: number;
  pusherMax: number;
  keepaliveConns: number;
  queues: number;
}

export interface Bench {
  quick: boolean;
  profile: boolean;
  discardAccessLog: boolean;
  /** The build under test (dist/ or --dist=DIR). */
  dist: string;
  results: string;
  tmpDir: string;
  size: Size;
  /** The gateway's shipped defaults on this machine, except a queue large enough for the scenarios. */
  gateway: GatewaySettings;
  /** Pushes in flight at most: workers x (pusher_max + 1). */
  concurrency: number;
  /** Where mockpush's Go source lives. */
  mockpushSource: string;
}

export const CPUS = os.availableParallelism();
export const RESULTS = path.join(BENCH, 'results');
export const USAGE =
  'usage: npm run bench [-- --quick] [--profile] [--discard-access-log] [--pusher-max=N] [--dist=DIR] [--mockpush-src=DIR]\n' +
  '       BENCH_QUICK=1 npm run bench   (the same as --quick)\n';

/** The options of a run from its arguments and environment; undefined for an unknown option. */
export function parseBench(argv: readonly string[], env: NodeJS.ProcessEnv, tmpDir: string): Bench | undefined {
  let dist = path.join(ROOT, 'dist');
  let pusherMax = 255;
  let mockpushSource = env.MOCKPUSH_SRC ?? path.join(ROOT, '..', 'shared', 'mockpush');
  const flags = new Set<string>();
  for (const a of argv) {
    if (a.startsWith('--dist=')) dist = path.resolve(a.slice('--dist='.length));
    else if (a.startsWith('--pusher-max=')) pusherMax = Number(a.slice('--pusher-max='.length));
    else if (a.startsWith('--mockpush-src=')) mockpushSource = path.resolve(a.slice('--mockpush-src='.length));
    else if (['--quick', '--profile', '--discard-access-log'].includes(a)) flags.add(a);
    else return undefined;
  }
  const quick = flags.has('--quick') || (env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0');
  const gateway = { workers: CPUS, pusherMax, keepaliveConns: CPUS, queues: 2_000_000 };
  return {
    quick,
    profile: flags.has('--profile'),
    discardAccessLog: flags.has('--discard-access-log'),
    dist,
    results: RESULTS,
    tmpDir,
    size: quick ? SIZES.quick : SIZES.full,
    gateway,
    concurrency: gateway.workers * (gateway.pusherMax + 1),
    mockpushSource,
  };
}
