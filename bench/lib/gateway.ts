// The gateway under test (dist/main.js, with the Node flags of `npm start`), a fresh process per scenario, pointed at a
// provider.

import fs from 'node:fs';
import path from 'node:path';
import type { Bench } from './bench.ts';
import { type BenchChild, freePort, requestJson, spawnChild, until } from './processes.ts';
import { procStat, type ProcStat } from './proc.ts';
import type { Provider } from './provider.ts';
import type { Buckets } from './stats.ts';
import { NOTIFICATIONS_PER_REQUEST } from './load.ts';

interface PlatformStats {
  push_success: number;
  push_error: number;
  retries: number;
  errors: Record<string, number>;
}

/** The parts of GET /stat/app the scenarios and the soak read. */
export interface AppStats {
  accepted: number;
  queue_usage: number;
  pusher_count: number;
  retrying: number;
  ios: PlatformStats;
  android: PlatformStats;
}

/** The parts of GET /stat/runtime the scenarios and the soak read. */
export interface RuntimeStats {
  memory: { rss: number; heap_used: number };
  active_resources: number;
  event_loop_delay: { p99_ms: number };
}

export interface Gateway {
  child: BenchChild;
  url: string;
  accessLog: string;
  app(): Promise<AppStats>;
  runtime(): Promise<RuntimeStats>;
  /** RSS, peak RSS and CPU time of all its threads, from /proc. */
  proc(): ProcStat;
  /** A full garbage collection through the inspector (only for a gateway started with `inspect`). */
  collectGarbage(): Promise<void>;
}

export interface GatewayOverrides {
  queues?: number;
  workers?: number;
  pusherMax?: number;
}

let gatewaySeq = 0;

/**
 * The Node flags of a build's start command (`npm start`, `node [flags] dist/main.js` in the package.json above its
 * dist/), so that the gateway runs here as users start it.
 */
export function startFlags(dist: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(dist, '..', 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = pkg.scripts?.start ?? '';
  const words = start.trim().split(/\s+/);
  const main = words.indexOf('dist/main.js');
  if (words[0] !== 'node' || main === -1) throw new Error(`the start script is not "node [flags] dist/main.js": ${start}`);
  return words.slice(1, main);
}

export async function startGateway(
  bench: Bench,
  provider: Provider,
  overrides: GatewayOverrides = {},
  { profileName, inspect, nodeArgs = [] }: { profileName?: string; inspect?: boolean; nodeArgs?: string[] } = {},
): Promise<Gateway> {
  const port = await freePort();
  const inspectPort = inspect ? await freePort() : undefined;
  const logDir = path.join(bench.tmpDir, `gateway-${++gatewaySeq}`);
  fs.mkdirSync(logDir);
  const accessLog = path.join(logDir, 'access.log');
  const env: Record<string, string> = {
    PUSHGATE_CORE_PORT: String(port),
    PUSHGATE_CORE_QUEUES: String(overrides.queues ?? bench.gateway.queues),
    PUSHGATE_CORE_NOTIFICATION_MAX: String(NOTIFICATIONS_PER_REQUEST),
    PUSHGATE_CORE_WORKERS: String(overrides.workers ?? bench.gateway.workers),
    PUSHGATE_CORE_PUSHER_MAX: String(overrides.pusherMax ?? bench.gateway.pusherMax),
    PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '0',
    PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: provider.files.apnsKey,
    PUSHGATE_IOS_TOKEN_AUTH_KEY_ID: provider.keyId,
    PUSHGATE_IOS_TOKEN_AUTH_TEAM_ID: provider.teamId,
    PUSHGATE_IOS_TOPIC: provider.topic,
    PUSHGATE_IOS_ENDPOINT: `${provider.apns.host}:${provider.apns.port}`,
    PUSHGATE_IOS_CA_PATH: provider.files.ca,
    PUSHGATE_IOS_KEEPALIVE_CONNS: String(bench.gateway.keepaliveConns),
    PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: provider.files.fcmServiceAccount,
    PUSHGATE_ANDROID_ENDPOINT: `${provider.fcm.host}:${provider.fcm.port}`,
    PUSHGATE_ANDROID_CA_PATH: provider.files.ca,
    PUSHGATE_ANDROID_KEEPALIVE_CONNS: String(bench.gateway.keepaliveConns),
    PUSHGATE_LOG_ACCESS_LOG: bench.discardAccessLog ? 'discard' : accessLog,
    PUSHGATE_LOG_ERROR_LOG: path.join(logDir, 'error.log'),
    PUSHGATE_LOG_LEVEL: 'error',
    // The gateway's own NODE_OPTIONS stay empty: a profiler or inspector inherited from the shell would skew it.
    NODE_OPTIONS: '',
  };
  const main = path.join(bench.dist, 'main.js');
  const argv = profileName ? ['--cpu-prof', `--cpu-prof-dir=${bench.results}`, `--cpu-prof-name=${profileName}`, main] : [main];
  if (inspectPort) argv.unshift(`--inspect=127.0.0.1:${inspectPort}`);
  argv.unshift(...startFlags(bench.dist), ...nodeArgs);
  const child = spawnChild(`gateway (${provider.name})`, argv, env);
  const url = `http://127.0.0.1:${port}`;
  await until('the gateway to listen', () => requestJson('GET', `${url}/stat/app`), 60_000, child);
  return {
    child,
    url,
    accessLog,
    app: () => requestJson<AppStats>('GET', `${url}/stat/app`),
    runtime: () => requestJson<RuntimeStats>('GET', `${url}/stat/runtime`),
    proc: () => procStat(child.pid ?? 0),
    collectGarbage: () => collectGarbage(inspectPort),
  };
}

/**
 * A full garbage collection in the gateway through its inspector, so that memory figures count what is retained,
 * not garbage that a collection some time later would free.
 */
async function collectGarbage(inspectPort: number | undefined): Promise<void> {
  if (!inspectPort) throw new Error('collectGarbage needs a gateway started with inspect');
  const [target] = await requestJson<{ webSocketDebuggerUrl: string }[]>('GET', `http://127.0.0.1:${inspectPort}/json/list`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('cannot reach the gateway inspector'));
  });
  await new Promise<void>((resolve) => {
    ws.onmessage = (message: MessageEvent) => {
      if ((JSON.parse(message.data as string) as { id?: number }).id === 1) resolve();
    };
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

export function accessLogBytes(gw: Gateway): number {
  try {
    return fs.statSync(gw.accessLog).size;
  } catch {
    return 0;
  }
}

/**
 * The cumulative buckets of the gateway's own `pushgate_push_request_duration_seconds` histogram for answers with
 * code 200.
 */
export async function pushRequestBuckets(url: string): Promise<Buckets> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const buckets: Buckets = [];
  for (const m of text.matchAll(/^pushgate_push_request_duration_seconds_bucket\{le="([^"]+)",code="200"\} (\d+)$/gm)) {
    buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  }
  return buckets;
}
