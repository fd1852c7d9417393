// Bounded soak: a steady load for N minutes against a gateway whose providers misbehave a little, to show
// that memory, handles and event-loop delay reach a plateau instead of growing.
//
//   npx node bench/soak.ts [--minutes 10] [--rate 20] [--tokens 50] [--error-rate 0.02] [--timeout-rate 0.01]
//                          [--sample-seconds 5] [--access-log] [--dist DIR]
//
// Runs the simulator (dist/simulator/main.js, answering --error-rate of the requests with a retryable error and
// never answering --timeout-rate of them) and the gateway (dist/main.js) as separate processes, sends --rate
// requests per second of --tokens pushes each with autocannon, and samples the gateway's /stat/runtime. After
// the load it waits for the queue to drain and checks that every accepted push ended. Exit code 1 when a figure
// keeps growing or a push was lost. Build first: npm run build.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startFlags, type AppStats, type RuntimeStats } from './lib/gateway.ts';
import { ROOT, freePort, killAll, requestJson, spawnChild as spawnProcess, until, type BenchChild } from './lib/processes.ts';

/** Children run without the harness's NODE_OPTIONS (a profiler or loader meant for this script). */
const spawnChild = (name: string, argv: string[], env: Record<string, string> = {}): BenchChild =>
  spawnProcess(name, argv, { NODE_OPTIONS: '', ...env });
const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    tokens: { type: 'string', default: '50' },
    'error-rate': { type: 'string', default: '0.02' },
    'timeout-rate': { type: 'string', default: '0.01' },
    'sample-seconds': { type: 'string', default: '5' },
    'access-log': { type: 'boolean', default: false },
    dist: { type: 'string', default: path.join(ROOT, 'dist') },
  },
});
const MINUTES = Number(opts.minutes);
const RATE = Number(opts.rate);
const TOKENS = Number(opts.tokens);
const SAMPLE_MS = Number(opts['sample-seconds']) * 1000;
const DIST = path.resolve(opts.dist);
// A plateau: the second half of the run (after a warm-up fifth) grows no more than this over the first half.
const LIMITS = {
  rss: { ratio: 1.1, slackBytes: 16 * 1024 * 1024 },
  handles: { ratio: 1.2, slack: 10 },
  eventLoopP99: { ratio: 1.5, slackMs: 10 },
};

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  handles: number;
  p99: number;
  queue: number;
  inFlight: number;
  retrying: number;
}

const getJson = <T>(url: string): Promise<T> => requestJson<T>('GET', url);

async function startSimulator(dir: string) {
  const child = spawnChild('simulator', [
    path.join(DIST, 'simulator/main.js'),
    ...['--apns-port', '0', '--fcm-port', '0', '--control-port', '0', '--record-limit', '0'],
    ...['--error-rate', opts['error-rate'], '--timeout-rate', opts['timeout-rate'], '--credentials-dir', dir],
  ]);
  const out = await until('the simulator', () => (/credentials .*\n/.test(child.output) ? child.output : undefined), 60_000, child);
  const field = (re: RegExp): string => {
    const m = re.exec(out);
    if (!m) throw new Error(`unexpected simulator output:\n${out}`);
    return m[1];
  };
  const info = JSON.parse(fs.readFileSync(field(/apnsInfo=(\S+)/), 'utf8')) as { keyId: string; teamId: string; topic: string };
  return {
    child,
    apns: new URL(field(/apns=(\S+)/)).host,
    fcm: new URL(field(/fcm=(\S+)/)).host,
    ca: field(/ ca=(\S+)/),
    apnsKey: field(/apnsKey=(\S+)/),
    fcmServiceAccount: field(/fcmServiceAccount=(\S+)/),
    ...info,
  };
}

async function startGateway(sim: Awaited<ReturnType<typeof startSimulator>>, dir: string) {
  const port = await freePort();
  const child = spawnChild('gateway', [...startFlags(DIST), path.join(DIST, 'main.js')], {
    PUSHGATE_CORE_PORT: String(port),
    PUSHGATE_CORE_QUEUES: '200000',
    PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '0',
    PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: sim.apnsKey,
    PUSHGATE_IOS_TOKEN_AUTH_KEY_ID: sim.keyId,
    PUSHGATE_IOS_TOKEN_AUTH_TEAM_ID: sim.teamId,
    PUSHGATE_IOS_TOPIC: sim.topic,
    PUSHGATE_IOS_ENDPOINT: sim.apns,
    PUSHGATE_IOS_CA_PATH: sim.ca,
    PUSHGATE_IOS_TIMEOUT: '2',
    PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: sim.fcmServiceAccount,
    PUSHGATE_ANDROID_ENDPOINT: sim.fcm,
    PUSHGATE_ANDROID_CA_PATH: sim.ca,
    PUSHGATE_ANDROID_TIMEOUT: '2',
    PUSHGATE_LOG_ACCESS_LOG: opts['access-log'] ? path.join(dir, 'access.log') : 'discard',
    PUSHGATE_LOG_ERROR_LOG: path.join(dir, 'error.log'),
    PUSHGATE_LOG_LEVEL: 'error',
  });
  const url = `http://127.0.0.1:${port}`;
  await until('the gateway', () => getJson(`${url}/stat/app`), 60_000, child);
  return { child, url };
}

function body(seq: number): string {
  const half = Math.ceil(TOKENS / 2);
  const token = (platform: number, i: number): string => (platform === 1 ? `${seq}-${i}`.padEnd(64, 'a') : `soak-${seq}-${i}:APA91b`);
  return JSON.stringify({
    notifications: [
      { platform: 1, message: 'soak', token: Array.from({ length: half }, (_, i) => token(1, i)) },
      { platform: 2, message: 'soak', token: Array.from({ length: TOKENS - half }, (_, i) => token(2, i)) },
    ],
  });
}

const MB = 1024 * 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const max = (xs: number[]): number => Math.max(...xs);

/** Compares the second half of the samples after warm-up with the first half. */
function plateau(samples: Sample[]) {
  const steady = samples.slice(Math.floor(samples.length / 5));
  const a = steady.slice(0, Math.floor(steady.length / 2));
  const b = steady.slice(Math.floor(steady.length / 2));
  const check = (
    name: string,
    pick: (s: Sample) => number,
    agg: (xs: number[]) => number,
    ratio: number,
    slack: number,
    unit: string,
    scale = 1,
  ) => {
    const first = agg(a.map(pick));
    const second = agg(b.map(pick));
    const limit = first * ratio + slack;
    return { name, first: first / scale, second: second / scale, limit: limit / scale, unit, ok: second <= limit };
  };
  return [
    check('rss (max)', (s) => s.rss, max, LIMITS.rss.ratio, LIMITS.rss.slackBytes, 'MB', MB),
    check('heap used (max)', (s) => s.heapUsed, max, LIMITS.rss.ratio, LIMITS.rss.slackBytes, 'MB', MB),
    check('active handles (max)', (s) => s.handles, max, LIMITS.handles.ratio, LIMITS.handles.slack, ''),
    check('event-loop p99 (median)', (s) => s.p99, median, LIMITS.eventLoopP99.ratio, LIMITS.eventLoopP99.slackMs, 'ms'),
  ];
}

const ended = (app: AppStats): number => app.ios.push_success + app.ios.push_error + app.android.push_success + app.android.push_error;

async function main(): Promise<number> {
  if (!fs.existsSync(path.join(DIST, 'main.js'))) throw new Error(`${DIST}/main.js not found: build first (npm run build)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-soak-'));
  const sim = await startSimulator(dir);
  const gw = await startGateway(sim, dir);
  const seconds = Math.round(MINUTES * 60);
  process.stdout.write(
    `soak: ${MINUTES} min at ${RATE} requests/s x ${TOKENS} pushes (${RATE * TOKENS} pushes/s), ` +
      `provider errors ${opts['error-rate']}, timeouts ${opts['timeout-rate']}, sample every ${SAMPLE_MS / 1000} s\n`,
  );

  const samples: Sample[] = [];
  const started = Date.now();
  const sampler = setInterval(() => {
    Promise.all([getJson<RuntimeStats>(`${gw.url}/stat/runtime`), getJson<AppStats>(`${gw.url}/stat/app`)])
      .then(([rt, app]) => {
        const s: Sample = {
          t: Math.round((Date.now() - started) / 1000),
          rss: rt.memory.rss,
          heapUsed: rt.memory.heap_used,
          handles: rt.active_resources,
          p99: rt.event_loop_delay.p99_ms,
          queue: app.queue_usage,
          inFlight: app.pusher_count,
          retrying: app.retrying,
        };
        samples.push(s);
        process.stdout.write(
          `${String(s.t).padStart(5)} s  rss ${(s.rss / MB).toFixed(1).padStart(6)} MB  heap ${(s.heapUsed / MB).toFixed(1).padStart(6)} MB  ` +
            `handles ${String(s.handles).padStart(4)}  loop p99 ${s.p99.toFixed(1).padStart(6)} ms  queue ${s.queue}  in flight ${s.inFlight}  retrying ${s.retrying}\n`,
        );
      })
      .catch((error: unknown) => process.stdout.write(`sample failed: ${error instanceof Error ? error.message : String(error)}\n`));
  }, SAMPLE_MS);

  let seq = 0;
  const result = await autocannon({
    url: `${gw.url}/push`,
    method: 'POST',
    connections: 4,
    overallRate: RATE,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, body: body(seq++) }) }],
  });
  clearInterval(sampler);

  const app = await until(
    'the queue to drain',
    async () => {
      const s = await getJson<AppStats>(`${gw.url}/stat/app`);
      return ended(s) === s.accepted && s.queue_usage === 0 && s.retrying === 0 ? s : undefined;
    },
    60_000,
    gw.child,
  ).catch(() => getJson<AppStats>(`${gw.url}/stat/app`));
  const non2xx = result.non2xx;
  const checks = plateau(samples);

  process.stdout.write(
    `\nrequests ${result.requests.total} (non-2xx ${non2xx}, errors ${result.errors}), accepted ${app.accepted} pushes, ended ${ended(app)} ` +
      `(succeeded ${app.ios.push_success + app.android.push_success}, failed ${app.ios.push_error + app.android.push_error}), ` +
      `retries ${app.ios.retries + app.android.retries}\n`,
  );
  process.stdout.write(`failures by reason: ios ${JSON.stringify(app.ios.errors)} android ${JSON.stringify(app.android.errors)}\n\n`);
  for (const c of checks) {
    process.stdout.write(
      `${c.ok ? 'plateau' : 'GROWING'}  ${c.name.padEnd(24)} first half ${c.first.toFixed(1)} ${c.unit}, second half ${c.second.toFixed(1)} ${c.unit} (limit ${c.limit.toFixed(1)})\n`,
    );
  }
  const lost = app.accepted - ended(app);
  process.stdout.write(
    `${lost === 0 ? 'ok' : 'LOST'}  accepted = succeeded + failed${lost === 0 ? '' : ` (${lost} pushes unaccounted for)`}\n`,
  );
  if (samples.length < 10) process.stdout.write(`note: only ${samples.length} samples; run longer for a meaningful plateau check\n`);
  fs.writeFileSync(path.join(dir, 'soak.json'), JSON.stringify({ opts, samples, checks, app }, null, 2));
  process.stdout.write(`samples: ${path.join(dir, 'soak.json')}\n`);
  return checks.every((c) => c.ok) && lost === 0 && result.errors === 0 && non2xx === 0 ? 0 : 1;
}

main()
  .then((code) => {
    killAll();
    process.exit(code);
  })
  .catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAll();
    process.exit(1);
  });
