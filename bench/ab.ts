// An A/B of two builds of the gateway, run in alternation on the same machine in the same period.
//
//   npm run build && mkdir -p /tmp/ab-a && cp -r dist package.json /tmp/ab-a/     (build A, e.g. before a change)
//   npm run build && mkdir -p /tmp/ab-b && cp -r dist package.json /tmp/ab-b/     (build B, after it)
//   npm run bench:ab -- --a=/tmp/ab-a --b=/tmp/ab-b [--runs=3] [--quick] [--scenarios=1,7] [--mockpush-src=DIR]
//
// A build is a copy of dist/ made beforehand, so that a rebuild during the A/B cannot change it. The gateway reads
// its version from the package.json above dist/, hence the copy of package.json beside it; --a and --b name either
// that directory or the dist/ copy itself. Wherever the copies are, their dependencies come from this checkout's
// node_modules (unless a copy has node_modules of its own above it).
//
// This VM is noisy and drifts over minutes: a figure of one build against a figure of another measured later says
// little. Here the runs alternate A, B, A, B, ... (`--runs` of each, 3 by default), so the drift falls on both:
//
//   scenario 1 (end to end, 100 notifications x 10 tokens per request, half iOS, half Android) against the
//     simulator; 1,000,000 pushes per run, 200,000 with --quick;
//   scenario 7 (a burst of 1,000-token requests from 4 posters) against mockpush, when the Go toolchain is on PATH;
//     300 requests per run, 100 with --quick;
//   with --scenarios=6 (or 1,6,7...), scenario 6 (1-token requests from 64 connections, the server at 200 ms) against
//     mockpush (the simulator without Go): accepted requests/s, p99 and gateway CPU per accepted request; 20 s per
//     run, 10 s with --quick.
//
// Every run gets fresh processes: its own server and its own gateway, so that no run inherits another's warm or
// worn state. The simulator is build A's for both builds, so that only the gateway differs. Prints per build each
// run's pushes/s, gateway CPU per push (all threads) and peak RSS, their mean and spread (max - min), and the B/A
// ratio of the means, saying whether the two builds' runs overlap (then the difference is within the noise) or lie
// apart, and how often identical builds would lie apart by chance alone (10% with 3 runs each: more runs, less).
// Writes bench/results/ab.json (quick-ab.json with --quick, which git ignores).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Bench, type Size, SIZES, parseBench } from './lib/bench.ts';
import { startFlags } from './lib/gateway.ts';
import { buildMockpush, startMockpush } from './lib/mockpush.ts';
import { ROOT, log, runDirectory } from './lib/processes.ts';
import type { Provider } from './lib/provider.ts';
import { startSimulator } from './lib/simulator.ts';
import { round } from './lib/stats.ts';
import { effectiveCores, machine, mb, n, versions } from './report.ts';
import { BURST, type Burst, scenarioBurst } from './scenarios/burst.ts';
import { type EndToEnd, scenarioEndToEnd } from './scenarios/end-to-end.ts';
import { MANY, type ManyConnections, scenarioManyConnections } from './scenarios/many-connections.ts';

const USAGE =
  'usage: npm run bench:ab -- --a=DIR_A --b=DIR_B [--runs=3] [--quick] [--scenarios=1,7] [--mockpush-src=DIR]\n' +
  '       DIR_A and DIR_B hold copies of builds, A the reference, B the candidate, each made with\n' +
  '       npm run build && mkdir -p DIR && cp -r dist package.json DIR/\n';

/** The sizes of bench/run.ts, with scenarios 1, 6 and 7 long enough to compare: seconds each on an idle machine. */
const AB_SIZES: Record<'quick' | 'full', Size> = {
  quick: { ...SIZES.quick, e2ePushes: 200_000, burstRequests: 100, manyConnectionsSeconds: 10 },
  full: { ...SIZES.full, e2ePushes: 1_000_000, burstRequests: 300, manyConnectionsSeconds: 20 },
};
type ScenarioNumber = 1 | 6 | 7;
const SCENARIOS: readonly ScenarioNumber[] = [1, 6, 7];
/**
 * Gives up after this long per run of each build. Generous: on a machine that gave the A/B 0.3 of its 2 cores, one
 * build's quick run of both scenarios took a little over 2 minutes.
 */
const DEADLINE_PER_RUN_MS = { quick: 8 * 60_000, full: 20 * 60_000 };

type BuildName = 'A' | 'B';
interface Build {
  name: BuildName;
  dist: string;
  /** From the package.json above the build. */
  version: string | undefined;
  /** sha256 of the build's files and start flags, to tell two builds apart (or see that they are the same). */
  fingerprint: string;
  /** The Node flags of its start command, which the gateway runs with. */
  flags: string[];
}

/** A figure an A/B compares: a numeric field of a scenario's result. */
interface FigureSpec<T> {
  key: keyof T & string;
  label: string;
  format: (v: number) => string;
  higherIsBetter: boolean;
}
const us = (v: number): string => `${round(v, 1)} us`;
const ms = (v: number): string => `${round(v, 1)} ms`;
/** Scenarios 1 and 7. */
const PUSH_FIGURES: FigureSpec<{ pushesPerSec: number; gatewayCpuUsPerPush: number; peakRssBytes: number }>[] = [
  { key: 'pushesPerSec', label: 'pushes/s', format: n, higherIsBetter: true },
  { key: 'gatewayCpuUsPerPush', label: 'gateway CPU per push (all threads)', format: us, higherIsBetter: false },
  { key: 'peakRssBytes', label: 'gateway peak RSS', format: mb, higherIsBetter: false },
];
/** Scenario 6. */
const REQUEST_FIGURES: FigureSpec<ManyConnections>[] = [
  { key: 'acceptedPerSec', label: 'accepted requests/s', format: n, higherIsBetter: true },
  { key: 'p99Ms', label: 'POST /push p99', format: ms, higherIsBetter: false },
  { key: 'gatewayCpuUsPerRequest', label: 'gateway CPU per accepted request (all threads)', format: us, higherIsBetter: false },
  { key: 'peakRssBytes', label: 'gateway peak RSS', format: mb, higherIsBetter: false },
];

/** One run of one build in one scenario; `order` is its place in the whole sequence (1, 2, ...). */
type Run<T> = T & { order: number; startedAt: string };

interface Scenario<T> {
  key: 'e2e' | 'burst' | 'many';
  label: string;
  figures: FigureSpec<T>[];
  runs: Record<BuildName, Run<T>[]>;
}

/** Of the build's files and the Node flags it starts with (its package.json's start script). */
function fingerprint(dir: string, flags: readonly string[]): string {
  const hash = createHash('sha256').update(flags.join(' ')).update('\0');
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile()) hash.update(path.relative(dir, file)).update('\0').update(fs.readFileSync(file));
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 12);
}

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

interface Summary {
  runs: number[];
  mean: number;
  min: number;
  max: number;
  /** max - min, and the same as a share of the mean. */
  spread: number;
  spreadOfMean: number;
}

function summarise(values: number[]): Summary {
  const m = mean(values);
  const [min, max] = [Math.min(...values), Math.max(...values)];
  return { runs: values, mean: round(m, 1), min, max, spread: round(max - min, 1), spreadOfMean: round((max - min) / m, 3) };
}

interface Comparison {
  a: Summary;
  b: Summary;
  /** B's mean over A's. */
  ratio: number;
  /**
   * Whether every run of one build is better than every run of the other (otherwise the runs overlap); null with a
   * single run of each, which has no spread to judge by.
   */
  separated: boolean | null;
  better: BuildName | null;
  /**
   * How often two identical builds would still have their runs apart, by chance alone: of the ways to share the
   * m + n runs between the builds, the 2 that put all of one below all of the other (2 / C(m + n, m): 33% with 2 runs
   * each, 10% with 3, 3% with 4).
   */
  apartByChance: number;
}

/** C(n, k), small arguments. */
function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

function compare(a: number[], b: number[], higherIsBetter: boolean): Comparison {
  const [sa, sb] = [summarise(a), summarise(b)];
  const bAbove = sb.min > sa.max;
  const aAbove = sa.min > sb.max;
  const separated = a.length < 2 || b.length < 2 ? null : aAbove || bAbove;
  const better = !separated ? null : bAbove === higherIsBetter ? 'B' : 'A';
  const apartByChance = round(Math.min(1, 2 / choose(a.length + b.length, a.length)), 3);
  return { a: sa, b: sb, ratio: round(sb.mean / sa.mean, 3), separated, better, apartByChance };
}

interface Compared {
  label: string;
  key: string;
  figures: FigureSpec<never>[];
  comparison: Record<string, Comparison>;
}

function compareScenario<T>(s: Scenario<T>): Compared {
  const values = (build: BuildName, key: keyof T): number[] => s.runs[build].map((r) => Number(r[key]));
  const comparison = Object.fromEntries(
    s.figures.map(({ key, higherIsBetter }) => [key, compare(values('A', key), values('B', key), higherIsBetter)]),
  );
  return { label: s.label, key: s.key, figures: s.figures, comparison };
}

function table(scenarios: Compared[]): string {
  const head = ['scenario', 'figure', 'build', 'runs', 'mean', 'spread (max - min)'];
  const rows: string[][] = [];
  for (const { label, comparison, figures } of scenarios) {
    for (const { key, label: figure, format } of figures) {
      const c = comparison[key];
      for (const [build, s] of [
        ['A', c.a],
        ['B', c.b],
      ] as const) {
        rows.push([
          label,
          figure,
          build,
          s.runs.map(format).join(', '),
          format(s.mean),
          s.runs.length < 2 ? '-' : `${format(s.spread)} (${(s.spreadOfMean * 100).toFixed(1)}%)`,
        ]);
      }
      const verdict =
        c.separated === null
          ? 'one run each: no spread to judge by'
          : c.separated
            ? `runs apart: ${c.better} better (by chance alone: ${Math.round(c.apartByChance * 100)}%)`
            : 'runs overlap: within the noise';
      rows.push([label, figure, 'B/A', '', c.ratio.toFixed(3), verdict]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Scenario 1 or 7 for one build against a server started for this run alone. */
async function once<T>(
  what: string,
  start: () => Promise<Provider>,
  run: (provider: Provider) => Promise<T>,
  order: number,
): Promise<Run<T>> {
  const startedAt = new Date().toISOString();
  const provider = await start();
  try {
    log(`run ${order}: ${what}`);
    return { ...(await run(provider)), order, startedAt };
  } finally {
    await provider.stop();
  }
}

/** Scenario 1's figures without its timeline (samples every 250 ms), which an A/B does not plot. */
const withoutTimeline = <T extends { timeline: unknown }>({ timeline: _timeline, ...rest }: T): Omit<T, 'timeline'> => rest;

async function main(
  bench: Bench,
  builds: Record<BuildName, Build>,
  runs: number,
  scenarios: ReadonlySet<ScenarioNumber>,
  argv: readonly string[],
): Promise<void> {
  if (Number(process.versions.node.split('.')[0]) < 24) throw new Error(`Node ${process.version}: run with Node 24`);
  const started = new Date();
  fs.mkdirSync(bench.results, { recursive: true });
  log(
    `A/B, ${bench.quick ? 'quick' : 'full'} sizes, ${runs} run(s) of each build in alternation; ${os.cpus().length} CPUs, ${process.version}`,
  );
  for (const b of Object.values(builds))
    log(`${b.name} = ${b.dist} (version ${b.version}, files ${b.fingerprint}, node ${[...b.flags, 'dist/main.js'].join(' ')})`);
  if (builds.A.fingerprint === builds.B.fingerprint) log('A and B are the same build: the B/A ratios show the noise alone');

  const mockpush = buildMockpush(bench.mockpushSource);
  const go = 'binary' in mockpush ? execFileSync('go', ['version'], { encoding: 'utf8' }).trim() : undefined;
  if ('skipped' in mockpush) {
    log(
      `mockpush: SKIPPED, ${mockpush.skipped}; ${scenarios.has(7) ? 'scenario 7 does not run' : ''}${scenarios.has(6) ? '; scenario 6 runs against the simulator' : ''}`,
    );
  }

  const coresBefore = await effectiveCores();
  const e2e: Scenario<Omit<EndToEnd, 'timeline'>> = { key: 'e2e', label: '1 end to end, simulator', figures: PUSH_FIGURES, runs: { A: [], B: [] } };
  const burst: Scenario<Burst> = { key: 'burst', label: '7 burst, mockpush', figures: PUSH_FIGURES, runs: { A: [], B: [] } };
  const manyServer = 'binary' in mockpush ? 'mockpush' : 'simulator';
  const many: Scenario<ManyConnections> = {
    key: 'many',
    label: `6 1-token requests, ${MANY.connections} connections, ${manyServer}`,
    figures: REQUEST_FIGURES,
    runs: { A: [], B: [] },
  };
  let order = 0;
  let credentials = 0;
  for (let i = 1; i <= runs; i++) {
    for (const build of scenarios.has(1) ? [builds.A, builds.B] : []) {
      const b = { ...bench, dist: build.dist };
      const result = await once(
        `${build.name} ${i}/${runs}, scenario 1 against the simulator`,
        () => startSimulator(builds.A.dist, path.join(bench.tmpDir, `credentials-${++credentials}`)),
        (provider) => scenarioEndToEnd(b, provider),
        ++order,
      );
      e2e.runs[build.name].push(withoutTimeline(result));
      log(`${build.name} ${i}/${runs}, scenario 1: ${n(result.pushesPerSec)} pushes/s, ${result.gatewayCpuUsPerPush} us CPU per push`);
    }
    if (scenarios.has(6)) {
      for (const build of [builds.A, builds.B]) {
        const b = { ...bench, dist: build.dist };
        const result = await once(
          `${build.name} ${i}/${runs}, scenario 6 against ${manyServer}`,
          () =>
            'binary' in mockpush
              ? startMockpush(mockpush.binary, bench.tmpDir)
              : startSimulator(builds.A.dist, path.join(bench.tmpDir, `credentials-${++credentials}`)),
          (provider) => scenarioManyConnections(b, provider),
          ++order,
        );
        many.runs[build.name].push(result);
        log(
          `${build.name} ${i}/${runs}, scenario 6: ${n(result.acceptedPerSec)} requests/s, p99 ${result.p99Ms} ms, ${result.gatewayCpuUsPerRequest} us CPU per request`,
        );
      }
    }
    if ('binary' in mockpush && scenarios.has(7)) {
      for (const build of [builds.A, builds.B]) {
        const b = { ...bench, dist: build.dist };
        const result = await once(
          `${build.name} ${i}/${runs}, scenario 7 against mockpush`,
          () => startMockpush(mockpush.binary, bench.tmpDir),
          (provider) => scenarioBurst(b, provider),
          ++order,
        );
        burst.runs[build.name].push(result);
        log(`${build.name} ${i}/${runs}, scenario 7: ${n(result.pushesPerSec)} pushes/s, ${result.gatewayCpuUsPerPush} us CPU per push`);
      }
    }
  }
  const coresAfter = await effectiveCores();

  const compared: Compared[] = [];
  if (scenarios.has(1)) compared.push(compareScenario(e2e));
  if (scenarios.has(6)) compared.push(compareScenario(many));
  if ('binary' in mockpush && scenarios.has(7)) compared.push(compareScenario(burst));
  const text = table(compared);
  const name = bench.quick ? 'quick-ab.json' : 'ab.json';
  const results = {
    date: started.toISOString(),
    durationS: round((Date.now() - started.getTime()) / 1000),
    command: `npm run bench:ab -- ${argv.join(' ')}`,
    size: bench.quick ? 'quick' : 'full',
    runsPerBuild: runs,
    order: 'A, B alternating; per round scenario 1 (A then B), then 6, then 7, those chosen; fresh server and gateway per run',
    scenarios: [...scenarios],
    builds: Object.fromEntries(Object.values(builds).map(({ name, ...b }) => [name, b])),
    machine: { ...machine(), effectiveCores: { before: coresBefore, after: coresAfter } },
    versions: versions(go),
    config: {
      gateway: { ...bench.gateway, concurrency: bench.concurrency, accessLog: 'file in a temporary directory', logLevel: 'error' },
      e2ePushes: bench.size.e2ePushes,
      burst: { ...BURST, requests: bench.size.burstRequests },
      manyConnections: { ...MANY, seconds: bench.size.manyConnectionsSeconds, server: manyServer },
      servers: {
        simulator: `${path.join(builds.A.dist, 'simulator/main.js')} (build A's, for both builds)`,
        mockpush:
          'skipped' in mockpush ? `skipped: ${mockpush.skipped}` : `${bench.mockpushSource} (Go, stdlib net/http), built with ${go}`,
      },
    },
    comparison: Object.fromEntries(compared.map((c) => [c.key, c.comparison])),
    runs: {
      ...(scenarios.has(1) && { e2e: e2e.runs }),
      ...(scenarios.has(6) && { many: many.runs }),
      ...(scenarios.has(7) && { burst: 'skipped' in mockpush ? { skipped: mockpush.skipped } : burst.runs }),
    },
    table: text,
  };
  fs.writeFileSync(path.join(bench.results, name), `${JSON.stringify(results, null, 2)}\n`);

  process.stdout.write(`\nA = ${builds.A.dist} (${builds.A.fingerprint}), B = ${builds.B.dist} (${builds.B.fingerprint})\n\n${text}\n\n`);
  if ('skipped' in mockpush && scenarios.has(7)) process.stdout.write(`scenario 7: SKIPPED (${mockpush.skipped})\n`);
  process.stdout.write(
    `machine: ${results.machine.cpus} x ${results.machine.cpuModel}, ${process.version}; CPU actually available (busy loops): ` +
      `${coresBefore} cores before, ${coresAfter} after; ${results.durationS} s in all\n`,
  );
  process.stdout.write(`written: bench/results/${name}\n`);
}

const argv = process.argv.slice(2);
let parsed;
try {
  parsed = parseArgs({
    args: argv,
    options: {
      a: { type: 'string' },
      b: { type: 'string' },
      runs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string', default: '1,7' },
      'mockpush-src': { type: 'string' },
    },
  }).values;
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const runs = Number(parsed.runs);
const scenarios = new Set(parsed.scenarios.split(',').map(Number) as ScenarioNumber[]);
if (!parsed.a || !parsed.b || !Number.isInteger(runs) || runs < 1 || [...scenarios].some((s) => !SCENARIOS.includes(s))) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const builds = {} as Record<BuildName, Build>;
for (const [name, dir] of [
  ['A', parsed.a],
  ['B', parsed.b],
] as const) {
  const given = path.resolve(dir);
  const dist = fs.existsSync(path.join(given, 'dist', 'main.js')) ? path.join(given, 'dist') : given;
  const missing = ['main.js', 'simulator/main.js', '../package.json'].filter((f) => !fs.existsSync(path.join(dist, f)));
  if (missing.length > 0) {
    process.stderr.write(`${name}: ${given} is not a build: no ${missing.map((f) => path.join(dist, f)).join(', ')}\n${USAGE}`);
    process.exit(2);
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { version?: string };
  const flags = startFlags(dist);
  builds[name] = { name, dist, version, flags, fingerprint: fingerprint(dist, flags) };
}

// A copy of dist/ outside the checkout (in /tmp, say) finds no node_modules above it: the children fall back to this
// checkout's. Node consults NODE_PATH only when the usual lookup fails, so a copy with node_modules of its own keeps them.
process.env.NODE_PATH = [process.env.NODE_PATH, path.join(ROOT, 'node_modules')].filter(Boolean).join(path.delimiter);

const tmpDir = runDirectory('bench:ab', 'pushgate-bench-ab-');
const base = parseBench(
  [...(parsed.quick ? ['--quick'] : []), ...(parsed['mockpush-src'] ? [`--mockpush-src=${parsed['mockpush-src']}`] : [])],
  process.env,
  tmpDir,
);
if (!base) throw new Error('parseBench refused options of its own');
const size = base.quick ? 'quick' : 'full';
const bench: Bench = { ...base, size: AB_SIZES[size] };
const deadline = setTimeout(
  () => {
    process.stderr.write(`bench:ab: still running after ${(runs * 2 * DEADLINE_PER_RUN_MS[size]) / 60_000} minutes, giving up\n`);
    process.exit(3);
  },
  runs * 2 * DEADLINE_PER_RUN_MS[size],
);
deadline.unref();
main(bench, builds, runs, scenarios, argv).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:ab: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
