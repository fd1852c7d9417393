'use strict';
// One "bare client" measurement, run by bench/run.js as its own process so that its CPU time is its own and it
// shares no event loop with the simulator or the harness. Input: one JSON argument; output: one JSON line.
//
//   modes: http2-ios | http2-android | http2-mixed   bare node:http2, the same headers and bodies as the gateway
//          apns2                                     GatewayApnsClient (apns2 over the gateway's transport), iOS
//          gateway-clients                           GatewayApnsClient + FcmClient, mixed, no HTTP or queue
//          firebase-admin                            firebase-admin sendEach over its HTTP/1.1 transport

const http2 = require('node:http2');
const https = require('node:https');
const tls = require('node:tls');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const dist = process.env.PG_BENCH_DIST || path.join(__dirname, '..', 'dist');
const opts = JSON.parse(process.argv[2]);
const ca = fs.readFileSync(opts.files.ca, 'utf8');
const apnsInfo = JSON.parse(fs.readFileSync(opts.files.apnsInfo, 'utf8'));
const APNS_ORIGIN = 'https://api.sandbox.push.apple.com';
const FCM_ORIGIN = 'https://fcm.googleapis.com';
const MESSAGE = opts.message;

function apnsToken(i) {
  return crypto.createHash('sha256').update(`bare-ios-${i % 100000}`).digest('hex');
}
function fcmToken(i) {
  return `bare-${i % 100000}:APA91b${crypto.createHash('sha512').update(`bare-android-${i}`).digest('base64url')}`;
}
/** Push i goes to iOS or Android; "mixed" alternates like the harness's requests (half and half). */
function platformOf(i) {
  if (opts.mode === 'http2-ios' || opts.mode === 'apns2') return 1;
  if (opts.mode === 'http2-android' || opts.mode === 'firebase-admin') return 2;
  return i % 2 === 0 ? 1 : 2;
}

function providerJwt() {
  const key = fs.readFileSync(opts.files.apnsKey, 'utf8');
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc({ alg: 'ES256', kid: apnsInfo.keyId })}.${enc({ iss: apnsInfo.teamId, iat: Math.floor(Date.now() / 1000) })}`;
  const sig = crypto.sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${unsigned}.${sig}`;
}

function fcmClient() {
  const { FcmClient } = require(path.join(dist, 'fcm/fcm.client.js'));
  return new FcmClient({
    serviceAccountPath: opts.files.fcmServiceAccount,
    connectTo: opts.fcm,
    ca,
    sessions: opts.sessions,
    timeoutMs: 5000,
    idleTimeoutMs: 90000,
    threads: 0,
  });
}

/** A round-robin pool of plain node:http2 sessions: the least any Node client has to do per push. */
function sessionPool(origin, connectTo, n) {
  const servername = new URL(origin).hostname;
  const sessions = [];
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
    request(headers, body) {
      const s = sessions[next];
      next = (next + 1) % n;
      return new Promise((resolve) => {
        const stream = s.request(headers);
        let status = 0;
        stream.on('response', (h) => (status = h[':status']));
        stream.on('data', () => undefined);
        stream.on('end', () => resolve(status === 200));
        stream.on('error', () => resolve(false));
        stream.end(body);
      });
    },
    close() {
      for (const s of sessions) s.close();
    },
  };
}

async function makeSender() {
  const { toApnsOptions, toFcmMessage } = require(path.join(dist, 'push/push.payload.js'));
  const dto = { token: [], platform: 1, message: MESSAGE };
  const apnsOptions = toApnsOptions(dto, Date.now());
  const fcmPrepared = toFcmMessage({ ...dto, platform: 2 });

  if (opts.mode.startsWith('http2-')) {
    const { Notification } = require('apns2');
    const apnsBody = JSON.stringify(new Notification('', apnsOptions).buildApnsOptions());
    const apnsAuth = `bearer ${providerJwt()}`;
    const apnsPushType = new Notification('', apnsOptions).pushType;
    const fcm = fcmClient();
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

  if (opts.mode === 'apns2' || opts.mode === 'gateway-clients') {
    const { GatewayApnsClient } = require(path.join(dist, 'apns/apns.client.js'));
    const { Notification } = require('apns2');
    const key = fs.readFileSync(opts.files.apnsKey, 'utf8');
    const apns = new GatewayApnsClient({
      auth: { kind: 'token', keyPem: key, keyId: apnsInfo.keyId, teamId: apnsInfo.teamId },
      topic: apnsInfo.topic,
      sandbox: true,
      connectTo: opts.apns,
      ca,
      sessions: opts.sessions,
      timeoutMs: 5000,
      idleTimeoutMs: 90000,
      threads: 0,
    });
    const fcm = opts.mode === 'gateway-clients' ? fcmClient() : undefined;
    if (fcm) await fcm.getAccessToken();
    return {
      async send(i) {
        if (platformOf(i) === 1) return (await apns.deliver(new Notification(apnsToken(i), apnsOptions))).ok;
        return (await fcm.deliver(fcmToken(i), fcmPrepared)).ok;
      },
      close() {
        void apns.close();
        if (fcm) void fcm.close();
      },
    };
  }

  if (opts.mode === 'firebase-admin') {
    const { initializeApp, cert, deleteApp } = require('firebase-admin/app');
    const { getMessaging } = require('firebase-admin/messaging');
    // The SDK has no FCM host setting; its supported seam is the httpAgent. This agent dials the simulator
    // while TLS still checks fcm.googleapis.com / oauth2.googleapis.com against the simulator's CA.
    class RoutedAgent extends https.Agent {
      createConnection(options) {
        return tls.connect({ ...options, servername: options.servername || options.host, host: opts.fcm.host, port: opts.fcm.port });
      }
    }
    const agent = new RoutedAgent({ keepAlive: true, maxSockets: opts.fcmSockets, ca });
    const app = initializeApp(
      { credential: cert(opts.files.fcmServiceAccount, agent), httpAgent: agent, projectId: JSON.parse(fs.readFileSync(opts.files.fcmServiceAccount, 'utf8')).project_id },
      `bench-${process.pid}`,
    );
    const messaging = getMessaging(app);
    let firstError;
    // Its HTTP/2 transport sends `:scheme: https:`, which strict HTTP/2 servers (this simulator) reset.
    messaging.enableLegacyHttpTransport();
    const batch = (start, count) => {
      const messages = [];
      for (let i = start; i < start + count; i++) messages.push({ token: fcmToken(i), data: { message: MESSAGE }, android: {} });
      return messaging.sendEach(messages).then((r) => {
        const failed = r.responses.find((x) => !x.success);
        if (failed && !firstError) firstError = `${failed.error.code}: ${failed.error.message}`;
        return r.successCount;
      });
    };
    return {
      batch,
      close: () => {
        if (firstError) process.stderr.write(`firebase-admin: first failed message: ${firstError}\n`);
        return deleteApp(app);
      },
    };
  }
  throw new Error(`unknown mode ${opts.mode}`);
}

/** Keeps `concurrency` sends in flight until `total` have been answered. */
async function drive(sender, first, total, concurrency) {
  let next = first;
  const end = first + total;
  let ok = 0;
  if (sender.batch) {
    // sendEach sends a batch's messages concurrently: batches sized so that `concurrency` are in flight.
    const size = Math.min(500, Math.ceil(concurrency / Math.ceil(concurrency / 500)));
    const lanes = Math.ceil(concurrency / size);
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < end) {
          const start = next;
          const count = Math.min(size, end - start);
          next += count;
          const sent = await sender.batch(start, count);
          ok += sent;
        }
      }),
    );
    return ok;
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < end) {
        if (await sender.send(next++)) ok++;
      }
    }),
  );
  return ok;
}

async function main() {
  const sender = await makeSender();
  // Warm-up: connections, TLS, OAuth and JIT, outside the measured window.
  await drive(sender, 0, opts.warmup, Math.min(opts.concurrency, opts.warmup));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const ok = await drive(sender, opts.warmup, opts.total, opts.concurrency);
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  process.stdout.write(
    `${JSON.stringify({ mode: opts.mode, pushes: opts.total, ok, elapsedMs, cpuUs: cpu.user + cpu.system, rssBytes: process.memoryUsage().rss })}\n`,
  );
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`bare ${opts.mode}: ${error.stack || error}\n`);
  process.exit(1);
});
