// HTTP load on the gateway's POST /push: request bodies, closed-loop load with autocannon, open-loop paced load.

import crypto from 'node:crypto';
import os from 'node:os';
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { sleep } from './processes.ts';
import type { Provider } from './provider.ts';
import { percentile, round, type Response } from './stats.ts';

export const NOTIFICATIONS_PER_REQUEST = 100;
export const TOKENS_PER_NOTIFICATION = 10;
export const PUSHES_PER_REQUEST = NOTIFICATIONS_PER_REQUEST * TOKENS_PER_NOTIFICATION;
export const MESSAGE = 'pushgate benchmark: hello from the harness';
export const LOAD_CONNECTIONS = 4;

const IOS = 1;
const ANDROID = 2;

export function hexToken(seed: string): string {
  return crypto.createHash('sha256').update(seed).digest('hex');
}
export function fcmToken(seed: string): string {
  return `${hexToken(`${seed}a`).slice(0, 22)}:APA91b${crypto.createHash('sha512').update(seed).digest('base64url')}`;
}
const tokenFor = (platform: number, seed: string): string => (platform === IOS ? hexToken(seed) : fcmToken(seed));

/**
 * Request bodies of 100 notifications x 10 tokens, iOS and Android alternating (half each). A few distinct
 * bodies rotate so that the server sees many different tokens.
 */
function buildBodies(count: number): string[] {
  const bodies = [];
  for (let b = 0; b < count; b++) {
    const notifications = [];
    for (let n = 0; n < NOTIFICATIONS_PER_REQUEST; n++) {
      const platform = n % 2 === 0 ? IOS : ANDROID;
      const token = [];
      for (let t = 0; t < TOKENS_PER_NOTIFICATION; t++) token.push(tokenFor(platform, `${b}-${n}-${t}`));
      notifications.push({ token, platform, message: MESSAGE });
    }
    bodies.push(JSON.stringify({ notifications }));
  }
  return bodies;
}
export const BODIES = buildBodies(16);

/** Bodies of one notification to `tokens` tokens, iOS and Android alternating from body to body. */
export function singleNotificationBodies(count: number, tokens: number): string[] {
  return Array.from({ length: count }, (_, b) => {
    const platform = b % 2 === 0 ? IOS : ANDROID;
    const token = Array.from({ length: tokens }, (_, t) => tokenFor(platform, `single-${tokens}-${b}-${t}`));
    return JSON.stringify({ notifications: [{ token, platform, message: MESSAGE }] });
  });
}

export interface LoadResult {
  responses: Response[];
  wallMs: number;
}

/**
 * POST /push with autocannon over keep-alive connections. Returns every response as [completion ms since start,
 * latency ms, status], for exact percentiles and the timeline.
 */
export function load(
  gwUrl: string,
  opts: { amount?: number; duration?: number; connections?: number; overallRate?: number; bodies?: readonly string[] },
): Promise<LoadResult> {
  const bodies = opts.bodies ?? BODIES;
  let next = 0;
  const started = performance.now();
  const responses: Response[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: gwUrl,
        connections: opts.connections ?? LOAD_CONNECTIONS,
        pipelining: 1,
        ...(opts.amount !== undefined && { amount: opts.amount }),
        ...(opts.duration !== undefined && { duration: opts.duration }),
        ...(opts.overallRate !== undefined && { overallRate: opts.overallRate }),
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: '/push',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
          },
        ],
      },
      (err) => (err ? reject(err) : resolve({ responses, wallMs: performance.now() - started })),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      responses.push([performance.now() - started, responseTime, statusCode]);
    });
  });
}

// Open-loop load at a fixed rate, for latency: request i is sent at i / rate seconds, whatever happened to the
// ones before it. Its latency runs from the moment it was handed to undici, so time spent waiting for one of the
// connections (all busy with slow answers) counts against the gateway. How late this process itself was in sending
// (its own wait for a CPU) is reported apart. autocannon's rate limit sends each second's quota at once, at the
// start of the second, so it measures requests queued behind each other rather than a steady rate.
export async function paced(
  gwUrl: string,
  { rate, seconds, connections = LOAD_CONNECTIONS }: { rate: number; seconds: number; connections?: number },
) {
  const pool = new Pool(gwUrl, { connections, pipelining: 1 });
  const raised = raisePriority();
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const responses: Response[] = [];
  const late: number[] = [];
  const sent: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sentAt = performance.now();
    late.push(sentAt - due);
    sent.push(
      pool
        .request({ method: 'POST', path: '/push', headers: { 'content-type': 'application/json' }, body: BODIES[i % BODIES.length] })
        .then(async (res) => {
          await res.body.dump();
          const now = performance.now();
          responses.push([now - started, now - sentAt, res.statusCode]);
        }),
    );
  }
  await Promise.all(sent);
  await pool.close();
  if (raised) os.setPriority(0);
  late.sort((a, b) => a - b);
  return {
    responses,
    raisedPriority: raised,
    lateP99Ms: round(Math.max(0, percentile(late, 99)), 2),
    lateMaxMs: round(Math.max(0, late.at(-1) ?? 0), 2),
  };
}

// The harness's main thread runs at niceness -10 while it times requests, where the OS allows it (root or
// CAP_SYS_NICE): on a machine whose CPUs the servers and the gateway keep busy, its own wait for a CPU would
// otherwise add several milliseconds to the latencies it reports. It uses about 3% of a core, so it takes next to
// nothing from them. Processes started meanwhile would inherit the priority: none is.
function raisePriority(): boolean {
  try {
    os.setPriority(-10);
    return true;
  } catch {
    return false;
  }
}

/** A few requests through a fresh gateway, delivered: connections, TLS, tokens and JIT outside the measurement. */
export async function warmUp(provider: Provider, gwUrl: string, requests: number): Promise<void> {
  const before = await provider.answered();
  await load(gwUrl, { amount: requests, connections: 1 });
  await provider.waitFor(before + requests * PUSHES_PER_REQUEST, 60_000);
}
