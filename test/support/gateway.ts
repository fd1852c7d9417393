import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { APP_OPTIONS, setupApp } from '../../src/app.setup';
import { CONFIG_SOURCE, loadConfig, type ConfigSource, type PushgateConfig } from '../../src/config/pushgate.config';
import { Simulator, type SimulatorOptions } from '../../src/simulator/simulator';
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
  try {
    await app.init();
  } catch (error) {
    // What started before the failing part (the other provider's client, its transport thread) is stopped too.
    await app.close().catch(() => undefined);
    throw error;
  }
  return {
    app,
    config,
    http: request(app.getHttpServer()),
    accessLog,
    close: () => app.close(),
  };
}

/** A gateway on a simulator of its own. */
export interface SimulatedGateway {
  sim: Simulator;
  gw: Gateway;
}

/** The gateway's environment, or how to make it from its simulator (for credentials of a named app, say). */
export type GatewayEnv = Record<string, string> | ((sim: Simulator) => Record<string, string>);

export interface SimulatedGatewayOptions {
  auth?: 'token' | 'certificate';
  simulator?: SimulatorOptions;
}

/** Starts a simulator and {@link startGateway} on it. */
export async function startSimulatedGateway(env: GatewayEnv = {}, options: SimulatedGatewayOptions = {}): Promise<SimulatedGateway> {
  const sim = await Simulator.start(options.simulator);
  try {
    return { sim, gw: await startGateway(sim, typeof env === 'function' ? env(sim) : env, options.auth) };
  } catch (error) {
    await sim.close();
    throw error;
  }
}

/** Closes the gateway, then its simulator. */
export async function closeSimulatedGateway({ sim, gw }: SimulatedGateway): Promise<void> {
  await gw.close();
  await sim.close();
}

/**
 * A simulator and a gateway on it for the enclosing `describe`: started before its first test and handed to `use`,
 * closed after its last.
 */
export function simulatedGatewayForSuite(
  use: (started: SimulatedGateway) => void,
  env: GatewayEnv = {},
  options: SimulatedGatewayOptions = {},
): void {
  let started: SimulatedGateway | undefined;
  beforeAll(async () => {
    started = await startSimulatedGateway(env, options);
    use(started);
  });
  afterAll(async () => {
    if (started) await closeSimulatedGateway(started);
  });
}

/** Runs `run` on a simulator and a gateway of its own, and closes both whatever it does. */
export async function withSimulatedGateway(
  env: GatewayEnv,
  run: (started: SimulatedGateway) => Promise<void>,
  options: SimulatedGatewayOptions = {},
): Promise<void> {
  const started = await startSimulatedGateway(env, options);
  try {
    await run(started);
  } finally {
    await closeSimulatedGateway(started);
  }
}

/**
 * Environment of a second app, `name`, whose credentials are `sim`'s: another APNs team and topic, another Firebase
 * project when the simulator was started with them.
 */
export function namedAppEnv(sim: Simulator, name: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), `pushgate-app-${name}-`));
  return simulatorEnv(sim, dir, 'token', `PUSHGATE_APPS_${name.toUpperCase()}_`);
}

/** A gateway with a second app, `brand_b` on `sim`, and two API keys: `admin-key` for every app, `brand-b-key` for `brand_b` only. */
export function scopedKeysEnv(sim: Simulator): Record<string, string> {
  return { ...namedAppEnv(sim, 'brand_b'), PUSHGATE_AUTH_API_KEYS: 'admin-key', PUSHGATE_APPS_BRAND_B_API_KEYS: 'brand-b-key' };
}

/** A path for a file the gateway writes (an error log), in a directory of its own. */
export function tempPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'pushgate-e2e-')), name);
}

/** The tokens the simulator received, sorted. */
export function receivedTokens(sim: Simulator): string[] {
  return sim
    .records()
    .map((r) => r.token)
    .sort();
}

/** The real AppModule booted from `source`, which a reload (`POST /config/reload`, SIGHUP) reads again. */
export async function startReloadableApp(source: ConfigSource): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(loadConfig(source))] })
    .overrideProvider(CONFIG_SOURCE)
    .useValue(source)
    .compile();
  const app = setupApp(moduleRef.createNestApplication(APP_OPTIONS));
  await app.init();
  return app;
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

/** POST /push with these notifications, which the gateway must accept. */
export async function pushAccepted(gw: Gateway, ...notifications: Record<string, unknown>[]): Promise<void> {
  await gw.http.post('/push').send({ notifications }).expect(200);
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
  sim: Simulator;
  /** The directory of the credential files and, unless `env` names another, the access log. */
  dir: string;
  accessLog: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM and the exit; then closes the simulator and removes the directory when they were started for it. */
  stop(): Promise<void>;
}

/**
 * Starts dist/main.js on a free port with `simulatorEnv` plus `env`, and resolves once it answers its liveness probe;
 * on `given`'s simulator and directory, or on a simulator and a temporary directory of its own. `spawned` sees the
 * process as soon as it exists, before it listens.
 */
export async function startGatewayProcess(
  env: Record<string, string> = {},
  given?: { sim: Simulator; dir: string },
  spawned?: (child: ChildProcess) => void,
): Promise<GatewayProcess> {
  const sim = given?.sim ?? (await Simulator.start());
  const dir = given?.dir ?? mkdtempSync(join(tmpdir(), 'pushgate-process-'));
  const accessLog = env.PUSHGATE_LOG_ACCESS_LOG ?? join(dir, 'access.log');
  const port = await freePort();
  const child = start(mainJs, [], {
    ...simulatorEnv(sim, dir),
    PUSHGATE_CORE_PORT: String(port),
    PUSHGATE_LOG_ACCESS_LOG: accessLog,
    ...env,
  });
  spawned?.(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited(child);
    if (given) return;
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await answering(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, child, sim, dir, accessLog, stderr: () => stderr, stop };
}
