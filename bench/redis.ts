// The Redis queue backend, end to end:
//
//   npx node bench/redis.ts [--quick]     (after npm run build)
//
// Starts what a deployment runs: a redis-server (append-only file, fsync every second), the APNs/FCM simulator
// (dist/simulator/main.js) and gateway processes (dist/main.js). Then, for one gateway on the in-memory queue,
// one gateway on Redis and three gateways on one Redis, it posts the same pushes (requests of 100 notifications x
// 10 tokens, half iOS, half Android, spread round-robin over the gateways) and times them from the first request
// to the simulator's last answer. Prints pushes/s and the ratios the README quotes; writes
// bench/results/redis.json.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESULTS } from './lib/bench.ts';
import { startFlags } from './lib/gateway.ts';
import { type BenchChild, ROOT, freePort, killAll, spawnChild, stopChild, until } from './lib/processes.ts';
import { procStat } from './lib/proc.ts';
import type { Provider } from './lib/provider.ts';
import { startSimulator } from './lib/simulator.ts';

const QUICK = process.argv.includes('--quick');
const PUSHES = QUICK ? 100_000 : 400_000;
const PER_REQUEST = { notifications: 100, tokens: 10 };
const REQUESTS_IN_FLIGHT = 8;
const CPUS = os.availableParallelism();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-bench-redis-'));
process.on('exit', () => {
  killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** `spawnChild` with the command first, as the redis-server and node processes are started here. */
const start = (name: string, command: string, args: string[], env: Record<string, string> = {}): BenchChild =>
  spawnChild(name, args, env, command);
const stop = (child: BenchChild): Promise<void> => stopChild(child, 'SIGTERM', 15_000);

async function startRedis() {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server not found (apt-get install -y redis-server)');
  const port = await freePort();
  const dir = path.join(tmp, 'redis');
  fs.mkdirSync(dir);
  const child = start('redis-server', 'redis-server', [
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    ...['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'],
  ]);
  await until('redis-server', () => child.output.includes('Ready to accept connections'), 10_000, child);
  return { child, url: `redis://127.0.0.1:${port}` };
}

function providerEnv(sim: Provider): Record<string, string> {
  return {
    PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: sim.files.apnsKey,
    PUSHGATE_IOS_TOKEN_AUTH_KEY_ID: sim.keyId,
    PUSHGATE_IOS_TOKEN_AUTH_TEAM_ID: sim.teamId,
    PUSHGATE_IOS_TOPIC: sim.topic,
    PUSHGATE_IOS_ENDPOINT: `${sim.apns.host}:${sim.apns.port}`,
    PUSHGATE_IOS_CA_PATH: sim.files.ca,
    PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: sim.files.fcmServiceAccount,
    PUSHGATE_ANDROID_ENDPOINT: `${sim.fcm.host}:${sim.fcm.port}`,
    PUSHGATE_ANDROID_CA_PATH: sim.files.ca,
  };
}

async function startGateway(sim: Provider, env: Record<string, string>, index: number) {
  const port = await freePort();
  const logDir = path.join(tmp, `gw-${Date.now()}-${index}`);
  fs.mkdirSync(logDir);
  const child = start(`gateway ${index}`, process.execPath, [...startFlags(path.join(ROOT, 'dist')), 'dist/main.js'], {
    ...providerEnv(sim),
    PUSHGATE_CORE_PORT: String(port),
    PUSHGATE_CORE_QUEUES: '2000000',
    PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '0',
    PUSHGATE_LOG_ACCESS_LOG: path.join(logDir, 'access.log'),
    PUSHGATE_LOG_ERROR_LOG: path.join(logDir, 'error.log'),
    PUSHGATE_LOG_LEVEL: 'error',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await until(`gateway ${index}`, async () => (await fetch(`${url}/health/ready`)).status === 200, 30_000, child);
  return { child, url };
}

function bodies(): string[] {
  const list = [];
  for (let r = 0; r < 16; r++) {
    const notifications = [];
    for (let n = 0; n < PER_REQUEST.notifications; n++) {
      const token = Array.from({ length: PER_REQUEST.tokens }, (_, t) => `bench-${r}-${n}-${t}-${'0'.repeat(40)}`);
      notifications.push({ token, platform: n % 2 === 0 ? 1 : 2, message: 'pushgate benchmark: hello from the harness' });
    }
    list.push(JSON.stringify({ notifications }));
  }
  return list;
}

function cpuUs(child: BenchChild): number {
  try {
    return procStat(child.pid ?? 0).cpuUs;
  } catch {
    return 0;
  }
}

async function scenario(label: string, sim: Provider, env: Record<string, string>, replicas: number) {
  const gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
  for (let i = 0; i < replicas; i++) gateways.push(await startGateway(sim, env, i));
  await sim.reset();
  const payloads = bodies();
  const perRequest = PER_REQUEST.notifications * PER_REQUEST.tokens;
  const total = Math.floor(PUSHES / perRequest) * perRequest;
  let next = 0;
  let refused = 0;
  const started = performance.now();
  const cpu0 = gateways.map((g) => cpuUs(g.child));
  const poster = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i * perRequest >= total) return;
      const gw = gateways[i % gateways.length];
      for (;;) {
        const res = await fetch(`${gw.url}/push`, { method: 'POST', body: payloads[i % payloads.length] });
        await res.arrayBuffer();
        if (res.status === 200) break;
        refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all(Array.from({ length: REQUESTS_IN_FLIGHT }, poster));
  const acceptedS = (performance.now() - started) / 1000;
  await until(`${total} answers`, async () => (await sim.answered()) >= total, 10 * 60_000);
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = gateways.reduce((sum, g, i) => sum + cpuUs(g.child) - cpu0[i], 0) / 1e6;
  for (const gw of gateways) await stop(gw.child);
  const result = {
    label,
    replicas,
    pushes: total,
    seconds: round(seconds),
    pushesPerSec: Math.round(total / seconds),
    acceptedInS: round(acceptedS),
    gatewayCpuUsPerPush: round((cpuSeconds * 1e6) / total),
    refused503: refused,
  };
  console.log(
    `${label.padEnd(20)} ${String(result.pushesPerSec).padStart(7)} pushes/s  (${total} in ${result.seconds} s, accepted in ${result.acceptedInS} s, ` +
      `gateway CPU ${result.gatewayCpuUsPerPush} us/push)`,
  );
  return result;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js missing: npm run build first');
  console.log(`pushgate Redis queue benchmark: ${PUSHES} pushes per scenario, ${CPUS} CPUs, node ${process.version}`);
  const redis = await startRedis();
  const sim = await startSimulator(path.join(ROOT, 'dist'), path.join(tmp, 'sim'));
  const memory = await scenario('memory, 1 gateway', sim, {}, 1);
  const redisEnv = (prefix: string): Record<string, string> => ({
    PUSHGATE_QUEUE_BACKEND: 'redis',
    PUSHGATE_QUEUE_REDIS_URL: redis.url,
    PUSHGATE_QUEUE_REDIS_PREFIX: prefix,
  });
  const one = await scenario('redis, 1 gateway', sim, redisEnv('bench1'), 1);
  const three = await scenario('redis, 3 gateways', sim, redisEnv('bench3'), 3);
  const ratios = {
    redisOneVsMemory: round(one.pushesPerSec / memory.pushesPerSec),
    redisThreeVsOne: round(three.pushesPerSec / one.pushesPerSec),
  };
  console.log(
    `redis 1 gateway / memory: ${ratios.redisOneVsMemory} (target >= 0.5); redis 3 gateways / 1: ${ratios.redisThreeVsOne} (target > 1)`,
  );
  const out = path.join(RESULTS, 'redis.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick: QUICK,
        cpus: CPUS,
        node: process.version,
        redis: redisVersion,
        scenarios: [memory, one, three],
        ratios,
      },
      null,
      1,
    ) + '\n',
  );
  await sim.stop();
  await stop(redis.child);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
