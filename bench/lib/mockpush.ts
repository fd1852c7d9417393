// mockpush, a Go HTTP/2 server answering like APNs and FCM v1 (with an OAuth token endpoint), as a second
// benchmark provider: the same scenarios against a server that is not ours and costs little CPU per answer.
//
// Its source is not in this repository (--mockpush-src=DIR or MOCKPUSH_SRC, default ../shared/mockpush beside the checkout); it is
// built here with the local Go toolchain, offline, into bench/.mockpush/. Every instance creates its own CA at
// start, and its answer latency is a start flag: a different latency is a different instance.

import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Provider } from './provider.ts';
import { BENCH, freePort, requestJson, spawnChild, stopChild, until } from './processes.ts';

export const MOCKPUSH_BUILD = path.join(BENCH, '.mockpush');

interface MockpushStats {
  delivered: number;
}

/** Builds mockpush, or says why it cannot be (no Go toolchain, no source). */
export function buildMockpush(source: string): { binary: string } | { skipped: string } {
  if (spawnSync('go', ['version']).status !== 0) return { skipped: '`go` is not on PATH' };
  if (!fs.existsSync(path.join(source, 'main.go'))) return { skipped: `no mockpush source in ${source}` };
  const binary = path.join(MOCKPUSH_BUILD, 'mockpush');
  fs.mkdirSync(MOCKPUSH_BUILD, { recursive: true });
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: source, env: { ...process.env, GOPROXY: 'off' }, stdio: 'pipe' });
  return { binary };
}

/**
 * Credentials the gateway accepts, for a server that checks none of them: an APNs token-auth key (ES256) and an FCM
 * service account whose OAuth `token_uri` is mockpush's own token endpoint.
 */
function writeCredentials(dir: string, fcmPort: number): Provider['files'] & { keyId: string; teamId: string; topic: string } {
  const apnsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const fcmKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const info = {
    keyId: randomBytes(5).toString('hex').toUpperCase(),
    teamId: randomBytes(5).toString('hex').toUpperCase(),
    topic: 'com.example.pushgate.bench',
  };
  const project = 'pushgate-bench';
  const clientEmail = `bench@${project}.iam.gserviceaccount.com`;
  const serviceAccount = {
    type: 'service_account',
    project_id: project,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: fcmKey,
    client_email: clientEmail,
    client_id: '100000000000000000001',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: `https://localhost:${fcmPort}/token`,
    universe_domain: 'googleapis.com',
  };
  const files = {
    ca: path.join(dir, 'ca.pem'),
    apnsKey: path.join(dir, 'apns-key.p8'),
    apnsInfo: path.join(dir, 'apns-info.json'),
    fcmServiceAccount: path.join(dir, 'fcm-service-account.json'),
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(files.apnsKey, apnsKey, { mode: 0o600 });
  fs.writeFileSync(files.apnsInfo, JSON.stringify(info));
  fs.writeFileSync(files.fcmServiceAccount, JSON.stringify(serviceAccount, null, 2), { mode: 0o600 });
  return { ...files, ...info };
}

let instances = 0;

export async function startMockpush(binary: string, tmpDir: string, latencyMs = 0): Promise<Provider> {
  const [apnsPort, fcmPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  const dir = path.join(tmpDir, `mockpush-${++instances}`);
  const { keyId, teamId, topic, ...files } = writeCredentials(dir, fcmPort);
  const child = spawnChild(
    `mockpush${latencyMs ? ` (${latencyMs} ms)` : ''}`,
    [
      '-apns',
      `127.0.0.1:${apnsPort}`,
      '-fcm',
      `127.0.0.1:${fcmPort}`,
      '-stats',
      `127.0.0.1:${statsPort}`,
      '-ca-out',
      files.ca,
      '-latency',
      `${latencyMs}ms`,
    ],
    {},
    binary,
  );
  const statsUrl = `http://127.0.0.1:${statsPort}`;
  const stats = (): Promise<MockpushStats> => requestJson<MockpushStats>('GET', `${statsUrl}/stats`);
  await until('mockpush to listen', stats, 30_000, child);
  const provider: Provider = {
    name: 'mockpush',
    child,
    apns: { host: '127.0.0.1', port: apnsPort },
    fcm: { host: '127.0.0.1', port: fcmPort },
    files,
    keyId,
    teamId,
    topic,
    latencyInPlace: false,
    counts: stats,
    answered: async () => (await stats()).delivered,
    reset: async () => {
      await fetch(`${statsUrl}/reset`, { method: 'POST' }).then((res) => res.arrayBuffer());
    },
    waitFor: async (total, timeoutMs) => {
      await until(`mockpush to answer ${total} pushes`, async () => (await stats()).delivered >= total, timeoutMs, child, 50);
    },
    withLatency: async (ms, run) => {
      if (ms === latencyMs) return run(provider);
      const slow = await startMockpush(binary, tmpDir, ms);
      try {
        return await run(slow);
      } finally {
        await slow.stop();
      }
    },
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
  return provider;
}
