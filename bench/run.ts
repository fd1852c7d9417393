// pushgate benchmark harness.
//
//   npm run bench                 full run against the simulator, then against mockpush
//   npm run bench -- --quick      every scenario at a small size (a smoke run of a minute or two);
//                                 BENCH_QUICK=1 in the environment does the same
//   npm run bench -- --profile    also write a V8 CPU profile of the gateway during scenario 1 against the simulator
//                                 (bench/results/gateway-e2e.cpuprofile) and print where its CPU goes;
//                                 profiling slows the gateway, so use its figures for shape, not for records
//   npm run bench -- --dist=DIR   run a build elsewhere than dist/ (a copy, so that a rebuild cannot change
//                                 it mid-run, or another version to compare)
//   npm run bench -- --discard-access-log
//                                 the gateway discards its access log instead of writing it to a file: shows
//                                 what per-push logging costs (results go to bench/results/discard-access-log.json)
//   npm run bench -- --mockpush-src=DIR
//                                 where mockpush's Go source is (also MOCKPUSH_SRC; default ../shared/mockpush beside the checkout)
//   npm run bench:ab -- --a=DIR_A --b=DIR_B [--runs=3] [--quick]
//                                 an A/B of two builds (copies of dist/ and package.json, bench/ab.ts says how), run in
//                                 alternation A, B, A, B, ...: scenario 1 against the simulator and scenario 7 against
//                                 mockpush, each run's pushes/s, CPU per push and peak RSS, mean, spread and B/A
//                                 (bench/results/ab.json); the way to decide a performance change on this noisy VM
//
// Two push servers, one after the other: the project's APNs/FCM simulator (dist/simulator/main.js) and, when the
// Go toolchain is on PATH, mockpush (a Go HTTP/2 server answering like APNs and FCM v1, bench/lib/mockpush.ts).
// Against each, the gateway (dist/main.js, a fresh process per scenario) runs every scenario, driven by this
// harness with keep-alive HTTP load; the harness samples the other processes' /proc and spawns bench/bare.ts for
// the bare-client limits. The gateway writes its access log (a JSON line per push) to a temporary file, as in
// production.
//
// Scenarios (bench/scenarios/): 1 end to end, 2 limits of bare clients, 3 accept path while delivering,
// 4 memory per queued push (simulator only), 5 slow server, 6 many connections of 1-token requests at 200 ms,
// 7 burst of 1,000-token requests.
//
// Output: one table on stdout, bench/results/latest.json (machine, versions, config, every figure of both servers)
// and bench/results/throughput.png (scenario 1 over time).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Bench, USAGE, parseBench } from './lib/bench.ts';
import { MESSAGE, NOTIFICATIONS_PER_REQUEST, TOKENS_PER_NOTIFICATION, LOAD_CONNECTIONS } from './lib/load.ts';
import { buildMockpush, startMockpush } from './lib/mockpush.ts';
import { ROOT, log, runDirectory, until } from './lib/processes.ts';
import type { Provider } from './lib/provider.ts';
import { startSimulator } from './lib/simulator.ts';
import { round } from './lib/stats.ts';
import { renderTimeline } from './plot.ts';
import { format as formatProfile, summarise as summariseProfile } from './profile.ts';
import { type ServerRun, type Servers, effectiveCores, machine, mb, n, table, versions } from './report.ts';
import { scenarioAccept } from './scenarios/accept.ts';
import { BURST, scenarioBurst } from './scenarios/burst.ts';
import { scenarioEndToEnd } from './scenarios/end-to-end.ts';
import { FIREBASE_SOCKETS, ceilingAgain, scenarioLimits } from './scenarios/limits.ts';
import { MANY, scenarioManyConnections } from './scenarios/many-connections.ts';
import { scenarioMemory } from './scenarios/memory.ts';
import { SLOW, scenarioSlow } from './scenarios/slow.ts';

const PROFILE_NAME = 'gateway-e2e.cpuprofile';

/** Every scenario against one server. */
async function runServer(bench: Bench, provider: Provider): Promise<ServerRun> {
  const profiling = bench.profile && provider.name === 'simulator';
  const limits = await scenarioLimits(bench, provider);
  const first = await scenarioEndToEnd(bench, provider, { profileName: profiling ? PROFILE_NAME : undefined });
  let e2e: ServerRun['e2e'] = first;
  if (bench.size.repeat) {
    // The machine is shared (a VM): the ceiling is measured again right after scenario 1 and the better run counts;
    // the gateway gets the same treatment (one run when profiling, whose figures are for shape only).
    await ceilingAgain(bench, provider, limits);
    if (!profiling) {
      log(`${provider.name}, scenario 1: again, after the second ceiling run`);
      const second = await scenarioEndToEnd(bench, provider);
      e2e = { ...(second.pushesPerSec > first.pushesPerSec ? second : first), runs: [first.pushesPerSec, second.pushesPerSec] };
    }
  }
  const accept = await scenarioAccept(bench, provider, e2e.pushesPerSec);
  const memory = provider.latencyInPlace ? await scenarioMemory(bench, provider) : undefined;
  const slow = await scenarioSlow(bench, provider);
  const manyConnections = await scenarioManyConnections(bench, provider);
  const burst = await scenarioBurst(bench, provider);
  return {
    limits,
    e2e,
    ratioToHttp2: round(e2e.pushesPerSec / limits['http2-mixed'].pushesPerSec, 3),
    accept,
    memory,
    slow,
    manyConnections,
    burst,
  };
}

async function main(bench: Bench, argv: readonly string[]): Promise<void> {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    throw new Error(`Node ${process.version}: run with Node 24 (npm run bench, or npx node bench/run.ts)`);
  }
  if (!fs.existsSync(path.join(bench.dist, 'main.js'))) throw new Error(`${bench.dist}/main.js is missing: npm run build first`);
  const deadline = setTimeout(() => {
    process.stderr.write(`bench: still running after ${bench.size.deadlineMs / 60_000} minutes, giving up\n`);
    process.exit(3);
  }, bench.size.deadlineMs);
  deadline.unref();
  fs.mkdirSync(bench.results, { recursive: true });
  const started = new Date();
  log(
    `${bench.quick ? 'quick' : 'full'} run${bench.profile ? ' with a CPU profile of the gateway' : ''}; ${os.cpus().length} CPUs, ${process.version}`,
  );

  const mockpush = buildMockpush(bench.mockpushSource);
  const go = 'binary' in mockpush ? execFileSync('go', ['version'], { encoding: 'utf8' }).trim() : undefined;
  if ('skipped' in mockpush) log(`mockpush: SKIPPED, ${mockpush.skipped}; the scenarios run against the simulator only`);

  const coresBefore = await effectiveCores();
  const servers: Partial<Servers> = {};
  const simulator = await startSimulator(bench.dist, path.join(bench.tmpDir, 'credentials'));
  servers.simulator = await runServer(bench, simulator);
  await simulator.stop();
  if ('binary' in mockpush) {
    const server = await startMockpush(mockpush.binary, bench.tmpDir);
    servers.mockpush = await runServer(bench, server);
    await server.stop();
  } else {
    servers.mockpush = { skipped: mockpush.skipped };
  }
  const coresAfter = await effectiveCores();

  let profile;
  if (bench.profile) {
    const file = path.join(bench.results, PROFILE_NAME);
    await until('the gateway CPU profile', () => fs.existsSync(file), 10_000);
    profile = summariseProfile(file, 30);
  }

  const all = servers as Servers;
  const text = table(all);
  const sim = all.simulator as ServerRun;
  const results = {
    date: started.toISOString(),
    durationS: round((Date.now() - started.getTime()) / 1000),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    size: bench.quick ? 'quick' : 'full',
    profiled: bench.profile,
    dist: path.relative(ROOT, bench.dist) || bench.dist,
    machine: { ...machine(), effectiveCores: { before: coresBefore, after: coresAfter } },
    versions: versions(go),
    config: {
      gateway: {
        ...bench.gateway,
        concurrency: bench.concurrency,
        accessLog: bench.discardAccessLog ? 'discard' : 'file in a temporary directory',
        logLevel: 'error',
      },
      request: {
        notifications: NOTIFICATIONS_PER_REQUEST,
        tokensPerNotification: TOKENS_PER_NOTIFICATION,
        platforms: 'half iOS, half Android',
        message: MESSAGE,
      },
      load: { tool: 'autocannon; undici Pool for the evenly spaced phase of scenario 3', connections: LOAD_CONNECTIONS, keepAlive: true },
      bare: { concurrency: bench.concurrency, sessions: bench.gateway.keepaliveConns, firebaseAdminSockets: FIREBASE_SOCKETS },
      slow: { ...SLOW, workers: bench.gateway.workers },
      manyConnections: MANY,
      burst: BURST,
      servers: {
        simulator: 'dist/simulator/main.js (Node, this project)',
        mockpush:
          'skipped' in mockpush ? `skipped: ${mockpush.skipped}` : `${bench.mockpushSource} (Go, stdlib net/http), built with ${go}`,
      },
      size: bench.size,
    },
    servers: all,
    profile,
    table: text,
  };
  // A profiled run's figures are slowed by the profiler: keep them apart from the comparable results.
  // So is a quick run's, whose sizes are too small to compare.
  const variant = [bench.quick && 'quick', bench.profile && 'profile', bench.discardAccessLog && 'discard-access-log']
    .filter(Boolean)
    .join('-');
  const name = variant ? `${variant}.json` : 'latest.json';
  const plot = variant ? `${variant}-throughput.png` : 'throughput.png';
  fs.writeFileSync(path.join(bench.results, name), `${JSON.stringify(results, null, 2)}\n`);
  {
    const others =
      'skipped' in all.mockpush
        ? []
        : [{ label: 'mockpush', timeline: all.mockpush.e2e.timeline, http2Limit: all.mockpush.limits['http2-mixed'].pushesPerSec }];
    renderTimeline(
      path.join(bench.results, plot),
      { label: 'simulator', timeline: sim.e2e.timeline },
      others,
      { http2Limit: sim.limits['http2-mixed'].pushesPerSec, p99Target: 20 },
      `${results.date.slice(0, 10)}, ${results.machine.cpus} x ${results.machine.cpuModel}, ${process.version}; ${n(sim.e2e.pushes)} pushes (100 notifications x 10 tokens per request, half iOS / half Android), concurrency ${bench.concurrency}`,
    );
  }
  process.stdout.write(`\n${text}\n\n`);
  if (profile) process.stdout.write(`${formatProfile(profile)}\n\n`);
  if ('skipped' in all.mockpush) process.stdout.write(`mockpush: SKIPPED (${all.mockpush.skipped})\n`);
  process.stdout.write(
    `machine: ${results.machine.cpus} x ${results.machine.cpuModel}, ${mb(results.machine.memoryBytes)}, ${results.machine.os}, ${process.version}; ` +
      `CPU actually available (busy loops): ${coresBefore} cores before, ${coresAfter} after\n`,
  );
  process.stdout.write(`written: bench/results/${name}, bench/results/${plot}${bench.profile ? `, bench/results/${PROFILE_NAME}` : ''}\n`);
}

const argv = process.argv.slice(2);
const tmpDir = runDirectory('bench', 'pushgate-bench-');
const bench = parseBench(argv, process.env, tmpDir);
if (!bench) {
  process.stderr.write(`unknown option in ${argv.join(' ')}\n${USAGE}`);
  process.exit(2);
}
main(bench, argv).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
