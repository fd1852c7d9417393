// Where a small request's main-thread CPU goes: scenario 6 (1-token requests from 64 connections, the provider at
// 200 ms) against mockpush, with the gateway under `--cpu-prof`, then every sample of its main thread given to a stage
// and divided by the requests accepted.
//
//   npm run build && npx node bench/request-profile.ts [--dist=DIR] [--seconds=10] [--name=requests.cpuprofile]
//   npx node bench/request-profile.ts --profile=FILE --requests=N      (the breakdown of a profile taken before)
//
// A sample's stage is found in two passes over its stack, from the leaf up: first the nearest frame of the gateway's
// own stages (the middleware, the guard, the validation pipe, the journal...), then, for what none of them called, the
// nearest frame of a library layer (Express's router, Nest's core, Node's HTTP parser...). A sample in a system call
// that writes (a socket's or a log file's) is shown apart, with the stage that made it. Startup (module loading) is
// counted like the rest, so that the figures add up to the profile; it is the same for any build.
//
// The profiler slows the gateway: compare breakdowns of two builds taken in alternation, not against `bench:ab`'s
// figures. The dist may be a copy outside the checkout (as for bench:ab): its dependencies then come from here.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseBench } from './lib/bench.ts';
import { buildMockpush, startMockpush } from './lib/mockpush.ts';
import { ROOT, killAll, until } from './lib/processes.ts';
import { scenarioManyConnections } from './scenarios/many-connections.ts';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Test = (frame: CallFrame) => boolean;
const url =
  (part: string | RegExp): Test =>
  (f) =>
    typeof part === 'string' ? f.url.includes(part) : part.test(f.url);
const fn =
  (name: string): Test =>
  (f) =>
    f.functionName === name;

/** System calls that write, told apart by their caller: shown apart, with the stage that made them. */
const WRITES: [string, (leaf: CallFrame, caller?: CallFrame) => boolean][] = [
  ['file write (writeSync)', (leaf, caller) => leaf.functionName === 'writeBuffer' && caller?.url === 'node:fs'],
  ['socket write', (leaf) => ['writeUtf8String', 'writeLatin1String', 'writeBuffer', 'writev'].includes(leaf.functionName)],
];

/** The gateway's own stages, nearest first. */
const OURS: [string, Test][] = [
  ['request line (access log)', url(/access-log\.middleware|pino-http/)],
  ['journal: accepted-push lines', (f) => url('push.journal')(f) && fn('accepted')(f)],
  ['journal: outcome lines', (f) => url('push.journal')(f) && fn('settled')(f)],
  ['validation pipe', url(/http\/validation\./)],
  ['JSON body middleware', url('json-body.middleware')],
  ['request id middleware', url('request-id.middleware')],
  ['request timer middleware (metrics)', url('push-request.middleware')],
  ['API key guard', url('auth.guard')],
  ['exception filter', url('http-exception.filter')],
  ['answer (sendJson, res.json)', (f) => url('http/json-response')(f) || url('express/lib/response')(f)],
  ['PushService.accept', url('push/push.service')],
  [
    'delivery and settling (queue, dispatcher, transport, results, counters, metrics)',
    url(/push\.dispatcher|push\.queue|push\.results|push\.counters|push\.events|transport\/|provider\/|apns\/|fcm\/|metrics\/|prom-client/),
  ],
];

/** Library layers, for what none of the stages above called. */
const LAYERS: [string, Test][] = [
  ['startup (module loading)', (f) => url(/^node:internal\/modules/)(f) || fn('compileSourceTextModule')(f)],
  ['pino', url('/pino/')],
  ["Nest's core (router context, pipes, guards consumers)", url('@nestjs/core')],
  ["Express's router", url(/\/express\/|\/router\/|path-to-regexp|parseurl/)],
  ["Node's HTTP parser and IncomingMessage", url(/_http_server|_http_common|_http_incoming/)],
  ["Node's OutgoingMessage", url('_http_outgoing')],
  ['streams and sockets', url(/node:internal\/streams|node:net|stream_base/)],
  ['garbage collection', fn('(garbage collector)')],
  ['(program)', fn('(program)')],
];

export function stages(profile: CpuProfile, requests: number): { stage: string; usPerRequest: number; share: number }[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const cache = new Map<number, string>();
  const nearest = (chain: CallFrame[], tests: [string, Test][]): string | undefined => {
    for (const frame of chain) for (const [name, test] of tests) if (test(frame)) return name;
    return undefined;
  };
  const stageOf = (id: number): string => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const chain: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) chain.push(byId.get(at)!.callFrame);
    let stage: string;
    if (chain[0].functionName === '(idle)') stage = '(idle)';
    else {
      stage = nearest(chain, OURS) ?? nearest(chain, LAYERS) ?? 'other';
      const write = WRITES.find(([, test]) => test(chain[0], chain[1]))?.[0];
      if (write) stage = `${write}, in: ${stage}`;
    }
    cache.set(id, stage);
    return stage;
  };
  const time = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const stage = stageOf(profile.samples[i]);
    time.set(stage, (time.get(stage) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  time.delete('(idle)');
  const busy = [...time.values()].reduce((a, b) => a + b, 0);
  return [...time]
    .sort((a, b) => b[1] - a[1])
    .map(([stage, us]) => ({ stage, usPerRequest: Math.round((10 * us) / requests) / 10, share: Math.round((1000 * us) / busy) / 10 }));
}

function print(rows: ReturnType<typeof stages>, requests: number): void {
  const total = rows.reduce((a, r) => a + r.usPerRequest, 0);
  process.stdout.write(`main thread: ${total.toFixed(1)} us per accepted request (${requests} requests)\n`);
  for (const r of rows) {
    if (r.usPerRequest < 0.5) continue;
    process.stdout.write(`${r.usPerRequest.toFixed(1).padStart(8)} us ${`${r.share}%`.padStart(6)}  ${r.stage}\n`);
  }
}

if (import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      dist: { type: 'string', default: path.join(ROOT, 'dist') },
      seconds: { type: 'string', default: '10' },
      name: { type: 'string', default: 'requests.cpuprofile' },
      profile: { type: 'string' },
      requests: { type: 'string' },
    },
  });
  if (values.profile) {
    const profile = JSON.parse(fs.readFileSync(values.profile, 'utf8')) as CpuProfile;
    print(stages(profile, Number(values.requests)), Number(values.requests));
  } else {
    process.env.NODE_PATH = [process.env.NODE_PATH, path.join(ROOT, 'node_modules')].filter(Boolean).join(path.delimiter);
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-request-profile-'));
    const base = parseBench(['--quick', `--dist=${path.resolve(values.dist)}`], process.env, tmpDir);
    if (!base) throw new Error('parseBench refused the options');
    const bench = { ...base, size: { ...base.size, manyConnectionsSeconds: Number(values.seconds) } };
    const mockpush = buildMockpush(bench.mockpushSource);
    if ('skipped' in mockpush) throw new Error(`mockpush: ${mockpush.skipped}`);
    const provider = await startMockpush(mockpush.binary, tmpDir);
    let result;
    try {
      result = await scenarioManyConnections(bench, provider, { profileName: values.name });
    } finally {
      await provider.stop();
      killAll();
    }
    const file = path.join(bench.results, values.name);
    await until('the gateway CPU profile', () => fs.existsSync(file), 10_000);
    process.stdout.write(
      `${result.ok} requests accepted in ${result.seconds} s (${result.acceptedPerSec}/s, p99 ${result.p99Ms} ms), ` +
        `${result.gatewayCpuUsPerRequest} us gateway CPU per request (all threads, under the profiler); ${file}\n`,
    );
    print(stages(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, result.ok), result.ok);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
