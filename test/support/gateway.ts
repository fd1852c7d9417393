import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, setupApp } from '../../src/app.setup';
import { loadConfig, type PushgateConfig } from '../../src/config/pushgate.config';
import { Simulator } from '../../src/simulator/simulator';
import type { ChildProcess } from 'node:child_process';
import { answering, exited, freePort, mainJs, start } from './process';
import { waitFor } from './wait';

export interface Gateway {
  app: INestApplication;
  config: PushgateConfig;
  http: ReturnType<typeof request>;
  /** Path of the access log (per-push JSON lines). */
  accessLog: string;
  close(): Promise<void>;
}

/**
 * Environment that points the real clients at a running simulator, with token auth for APNs unless told otherwise.
 * `prefix` selects whose keys they are: `PUSHGATE_` for the default app, `PUSHGATE_APPS_<NAME>_` for a named one.
 */
export function simulatorEnv(
  sim: Simulator,
  dir: string,
  auth: 'token' | 'certificate' = 'token',
  prefix = 'PUSHGATE_',
): Record<string, string> {
  const files = sim.writeCredentials(dir);
  const apns = sim.credentials.apns;
  const iosAuth: Record<string, string> =
    auth === 'token'
      ? { IOS_TOKEN_AUTH_KEY_PATH: files.apnsKey, IOS_TOKEN_AUTH_KEY_ID: apns.keyId, IOS_TOKEN_AUTH_TEAM_ID: apns.teamId }
      : { IOS_PEM_CERT_PATH: files.apnsCert, IOS_PEM_KEY_PATH: files.apnsCertKey };
  const keys: Record<string, string> = {
    ...iosAuth,
    IOS_TOPIC: apns.topic,
    IOS_ENDPOINT: new URL(sim.apnsUrl).host,
    IOS_CA_PATH: files.ca,
    ANDROID_SERVICE_ACCOUNT_PATH: files.fcmServiceAccount,
    ANDROID_ENDPOINT: new URL(sim.fcmUrl).host,
    ANDROID_CA_PATH: files.ca,
  };
  return Object.fromEntries(Object.entries(keys).map(([key, value]) => [prefix + key, value]));
}

/**
 * The real AppModule, configured through the same loader as production (environment keys), delivering through
 * the real apns2 and firebase-admin based clients to the given simulator.
 */
export async function startGateway(
  sim: Simulator,
  env: Record<string, string> = {},
  auth: 'token' | 'certificate' = 'token',
): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-e2e-'));
  const accessLog = join(dir, 'access.log');
  const config = loadConfig({
    env: {
      ...simulatorEnv(sim, dir, auth),
      PUSHGATE_LOG_ACCESS_LOG: accessLog,
      PUSHGATE_LOG_ERROR_LOG: 'discard',
      ...env,
    },
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
  const app = setupApp(moduleRef.createNestApplication(APP_OPTIONS));
  await app.init();
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    accessLog,
    close: () => app.close(),
  };
}

export function readLog(path: string): Record<string, unknown>[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  } catch {
    return [];
  }
}

/** `waitFor` with positional arguments, as the e2e specs call it. */
export function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, pollMs = 20): Promise<void> {
  return waitFor(check, { timeoutMs, intervalMs: pollMs });
}

export function ios(token: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { token, platform: 1, message: 'hello', ...extra };
}

export function android(token: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { token, platform: 2, message: 'hello', ...extra };
}

/** The built gateway (dist/main.js) running as a process against a simulator. */
export interface GatewayProcess {
  port: number;
  child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts dist/main.js on a free port with `simulatorEnv` plus `env`; resolves once it answers its liveness probe. */
export async function startGatewayProcess(sim: Simulator, dir: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = start(mainJs, [], { ...simulatorEnv(sim, dir), PUSHGATE_CORE_PORT: String(port), ...env });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited(child);
  };
  try {
    await answering(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, child, stderr: () => stderr, stop };
}
