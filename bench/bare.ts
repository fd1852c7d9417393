// One "bare client" measurement, run by the harness as its own process so that its CPU time is its own and it
// shares no event loop with the server or the harness. Input: one JSON argument (BareOptions); output: one JSON
// line (BareOutput).
//
//   modes: http2-ios | http2-android | http2-mixed   bare node:http2, the same headers and bodies as the gateway
//          apns2                                     GatewayApnsClient (apns2 over the gateway's transport), iOS
//          gateway-clients                           GatewayApnsClient + FcmClient, mixed, no HTTP or queue
//          firebase-admin                            firebase-admin sendEach over its HTTP/1.1 transport
//
// The gateway's classes come from the build under test (`dist` in the options), loaded at run time: their types
// are the few members used here, declared below.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import tls from 'node:tls';
import { Notification, type NotificationOptions } from 'apns2';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import type { BareOptions, BareOutput } from './scenarios/limits.ts';

interface PreparedFcmMessage {
  head: string;
  tail: string;
}
interface Delivered {
  ok: boolean;
}
interface FcmClient {
  readonly projectId: string;
  getAccessToken(): Promise<string>;
  deliver(token: string, message: PreparedFcmMessage): Promise<Delivered>;
  close(): Promise<void>;
}
interface ApnsMessage {
  readonly payload: string;
}
interface GatewayApnsClient {
  send(deviceToken: string, message: ApnsMessage): Promise<Delivered>;
  close(): Promise<void>;
}
interface Endpoint {
  host: string;
  port: number;
}
interface TransportOptions {
  connectTo: Endpoint;
  ca: string;
  sessions: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  threads: number;
}
interface GatewayModules {
  FcmClient: new (options: TransportOptions & { serviceAccountPath: string }) => FcmClient;
  GatewayApnsClient: new (
    options: TransportOptions & {
      auth: { kind: 'token'; keyPem: string; keyId: string; teamId: string };
      topic: string;
      sandbox: boolean;
    },
  ) => GatewayApnsClient;
  apnsMessage(options: NotificationOptions): ApnsMessage;
  toApnsOptions(n: { token: string[]; platform: number; message: string }, nowMs: number): NotificationOptions;
  toFcmMessage(n: { token: string[]; platform: number; message: string }): PreparedFcmMessage;
}

interface Sender {
  send?: (i: number) => Promise<boolean>;
  batch?: (start: number, count: number) => Promise<number>;
  close: () => void | Promise<void>;
}

const opts = JSON.parse(process.argv[2]) as BareOptions;
const ca = fs.readFileSync(opts.files.ca, 'utf8');
const apnsInfo = JSON.parse(fs.readFileSync(opts.files.apnsInfo, 'utf8')) as { keyId: string; teamId: string; topic: string };
const APNS_ORIGIN = 'https://api.sandbox.push.apple.com';
const FCM_ORIGIN = 'https://fcm.googleapis.com';
const MESSAGE = opts.message;

function gateway(): GatewayModules {
  const require = createRequire(import.meta.url);
  const load = (file: string): unknown => require(path.join(opts.dist, file));
  return {
    ...(load('fcm/fcm.client.js') as Pick<GatewayModules, 'FcmClient'>),
    ...(load('apns/apns.client.js') as Pick<GatewayModules, 'GatewayApnsClient' | 'apnsMessage'>),
    ...(load('push/push.payload.js') as Pick<GatewayModules, 'toApnsOptions' | 'toFcmMessage'>),
  };
}

function apnsToken(i: number): string {
  return crypto
    .createHash('sha256')
    .update(`bare-ios-${i % 100000}`)
    .digest('hex');
}
function fcmToken(i: number): string {
  return `bare-${i % 100000}:APA91b${crypto.createHash('sha512').update(`bare-android-${i}`).digest('base64url')}`;
}
/** Push i goes to iOS or Android; "mixed" alternates like the harness's requests (half and half). */
function platformOf(i: number): 1 | 2 {
  if (opts.mode === 'http2-ios' || opts.mode === 'apns2') return 1;
  if (opts.mode === 'http2-android' || opts.mode === 'firebase-admin') return 2;
  return i % 2 === 0 ? 1 : 2;
}

function providerJwt(): string {
  const key = fs.readFileSync(opts.files.apnsKey, 'utf8');
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc({ alg: 'ES256', kid: apnsInfo.keyId })}.${enc({ iss: apnsInfo.teamId, iat: Math.floor(Date.now() / 1000) })}`;
  const sig = crypto.sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${unsigned}.${sig}`;
}

function transportOptions(connectTo: Endpoint): TransportOptions {
  return { connectTo, ca, sessions: opts.sessions, timeoutMs: 5000, idleTimeoutMs: 90000, threads: 0 };
}

function fcmClient(modules: GatewayModules): FcmClient {
  return new modules.FcmClient({ serviceAccountPath: opts.files.fcmServiceAccount, ...transportOptions(opts.fcm) });
}

/** A round-robin pool of plain node:http2 sessions: the least any Node client has to do per push. */
function sessionPool(origin: string, connectTo: Endpoint, n: number) {
  const servername = new URL(origin).hostname;
  const sessions: http2.ClientHttp2Session[] = [];
  for (let i = 0; i < n; i++) {
    const s = http2.connect(origin, {
      settings: { enablePush: false },
      createConnection: () => tls.connect({ host: connectTo.host, port: connectTo.port, servername, ALPNProtocols: ['h2'], ca }),
    });
    s.on('error', () => undefined);
    sessions.push(s);
  }
  let next = 0;
  return {
    request(headers: http2.OutgoingHttpHeaders, body: string): Promise<boolean> {
      const s = sessions[next];
      next = (next + 1) % n;
      return new Promise((resolve) => {
        const stream = s.request(headers);
        let status = 0;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', () => undefined);
        stream.on('end', () => resolve(status === 200));
        stream.on('error', () => resolve(false));
        stream.end(body);
      });
    },
    close(): void {
      for (const s of sessions) s.close();
    },
  };
}

async function makeSender(): Promise<Sender> {
  if (opts.mode === 'firebase-admin') return firebaseAdmin();
  const modules = gateway();
  const dto = { token: [], platform: 1, message: MESSAGE };
  const apnsOptions = modules.toApnsOptions(dto, Date.now());
  const fcmPrepared = modules.toFcmMessage({ ...dto, platform: 2 });

  if (opts.mode.startsWith('http2-')) {
    const apnsBody = JSON.stringify(new Notification('', apnsOptions).buildApnsOptions());
    const apnsAuth = `bearer ${providerJwt()}`;
    const apnsPushType = new Notification('', apnsOptions).pushType;
    const fcm = fcmClient(modules);
    const fcmAuth = `Bearer ${await fcm.getAccessToken()}`;
    await fcm.close();
    const fcmPath = `/v1/projects/${encodeURIComponent(fcm.projectId)}/messages:send`;
    const apns = sessionPool(APNS_ORIGIN, opts.apns, opts.sessions);
    const fcmPool = sessionPool(FCM_ORIGIN, opts.fcm, opts.sessions);
    return {
      send(i) {
        if (platformOf(i) === 1) {
          return apns.request(
            {
              ':method': 'POST',
              ':path': `/3/device/${apnsToken(i)}`,
              authorization: apnsAuth,
              'apns-push-type': apnsPushType,
              'apns-topic': apnsInfo.topic,
            },
            apnsBody,
          );
        }
        return fcmPool.request(
          { ':method': 'POST', ':path': fcmPath, authorization: fcmAuth, 'content-type': 'application/json' },
          fcmPrepared.head + JSON.stringify(fcmToken(i)) + fcmPrepared.tail,
        );
      },
      close() {
        apns.close();
        fcmPool.close();
      },
    };
  }

  // One message for every push, as the gateway prepares one per notification.
  const apnsMessage = modules.apnsMessage(apnsOptions);
  const apns = new modules.GatewayApnsClient({
    auth: { kind: 'token', keyPem: fs.readFileSync(opts.files.apnsKey, 'utf8'), keyId: apnsInfo.keyId, teamId: apnsInfo.teamId },
    topic: apnsInfo.topic,
    sandbox: true,
    ...transportOptions(opts.apns),
  });
  const fcm = opts.mode === 'gateway-clients' ? fcmClient(modules) : undefined;
  if (fcm) await fcm.getAccessToken();
  return {
    async send(i) {
      if (platformOf(i) === 1) return (await apns.send(apnsToken(i), apnsMessage)).ok;
      if (!fcm) throw new Error(`${opts.mode} sends to iOS only`);
      return (await fcm.deliver(fcmToken(i), fcmPrepared)).ok;
    },
    close() {
      void apns.close();
      if (fcm) void fcm.close();
    },
  };
}

function firebaseAdmin(): Sender {
  // The SDK has no FCM host setting; its supported seam is the httpAgent. This agent dials the server while TLS
  // still checks fcm.googleapis.com (and the service account's token host) against the server's CA.
  class RoutedAgent extends https.Agent {
    override createConnection(options: https.RequestOptions): Duplex {
      const servername = options.servername ?? options.host ?? undefined;
      return tls.connect({ ...(options as tls.ConnectionOptions), servername, host: opts.fcm.host, port: opts.fcm.port });
    }
  }
  const agent = new RoutedAgent({ keepAlive: true, maxSockets: opts.fcmSockets, ca });
  const projectId = (JSON.parse(fs.readFileSync(opts.files.fcmServiceAccount, 'utf8')) as { project_id: string }).project_id;
  const app = initializeApp({ credential: cert(opts.files.fcmServiceAccount, agent), httpAgent: agent, projectId }, `bench-${process.pid}`);
  const messaging = getMessaging(app);
  let firstError: string | undefined;
  // Its HTTP/2 transport sends `:scheme: https:`, which strict HTTP/2 servers reset.
  messaging.enableLegacyHttpTransport();
  return {
    batch: async (start, count) => {
      const messages = [];
      for (let i = start; i < start + count; i++) messages.push({ token: fcmToken(i), data: { message: MESSAGE }, android: {} });
      const r = await messaging.sendEach(messages);
      const failed = r.responses.find((x) => !x.success);
      if (failed?.error && !firstError) firstError = `${failed.error.code}: ${failed.error.message}`;
      return r.successCount;
    },
    close: () => {
      if (firstError) process.stderr.write(`firebase-admin: first failed message: ${firstError}\n`);
      return deleteApp(app);
    },
  };
}

/** Keeps `concurrency` sends in flight until `total` have been answered. */
async function drive(sender: Sender, first: number, total: number, concurrency: number): Promise<number> {
  let next = first;
  const end = first + total;
  let ok = 0;
  const { batch, send } = sender;
  if (batch) {
    // sendEach sends a batch's messages concurrently: batches sized so that `concurrency` are in flight.
    const size = Math.min(500, Math.ceil(concurrency / Math.ceil(concurrency / 500)));
    const lanes = Math.ceil(concurrency / size);
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < end) {
          const start = next;
          const count = Math.min(size, end - start);
          next += count;
          // Read `ok` only after the await: the lanes add to it concurrently.
          const sent = await batch(start, count);
          ok += sent;
        }
      }),
    );
    return ok;
  }
  if (!send) throw new Error(`${opts.mode}: no way to send`);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < end) {
        if (await send(next++)) ok++;
      }
    }),
  );
  return ok;
}

async function main(): Promise<void> {
  const sender = await makeSender();
  // Warm-up: connections, TLS, OAuth and JIT, outside the measured window.
  await drive(sender, 0, opts.warmup, Math.min(opts.concurrency, opts.warmup));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const ok = await drive(sender, opts.warmup, opts.total, opts.concurrency);
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  const output: BareOutput = {
    mode: opts.mode,
    pushes: opts.total,
    ok,
    elapsedMs,
    cpuUs: cpu.user + cpu.system,
    rssBytes: process.memoryUsage().rss,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`bare ${opts.mode}: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
