import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { ConfigSource } from '../src/config/pushgate.config';
import { maskToken } from '../src/push/push.log';
import { Simulator } from '../src/simulator/simulator';
import type { SimRecord } from '../src/simulator/simulator.state';
import { android, eventually, ios, readLog, startReloadableApp } from './support/gateway';
import { answering, exited, freePort, mainJs, post, start } from './support/process';

/** A start of the built gateway took more than 20 s on the loaded 2-core machine. */
const START_MS = 60_000;
/** One step waited for: deliveries, a reload after SIGHUP. */
const STEP_MS = 20_000;
// The longest test's own deadlines end to end (the SIGHUP one: the start, five steps, the drain at SIGTERM, that is
// core.shutdown_timeout and its margin), so that a slow step fails with its own message rather than the test with jest's.
jest.setTimeout(START_MS + 5 * STEP_MS + 15_000);

const KEY = 'reload-test-key';
const TOPIC = 'com.example.reload';

/** The `[apps.brand_a]` tables of a config file delivering to `sim`, with token auth for APNs. */
function appTables(sim: Simulator, dir: string): string {
  const files = sim.writeCredentials(dir);
  const { apns } = sim.credentials;
  return [
    '[apps.brand_a.ios]',
    `token_auth_key_path = ${JSON.stringify(files.apnsKey)}`,
    `token_auth_key_id = "${apns.keyId}"`,
    `token_auth_team_id = "${apns.teamId}"`,
    `topic = "${TOPIC}"`,
    `endpoint = "${new URL(sim.apnsUrl).host}"`,
    `ca_path = ${JSON.stringify(files.ca)}`,
    'timeout = 3',
    '[apps.brand_a.android]',
    `service_account_path = ${JSON.stringify(files.fcmServiceAccount)}`,
    `endpoint = "${new URL(sim.fcmUrl).host}"`,
    `ca_path = ${JSON.stringify(files.ca)}`,
    'timeout = 3',
  ].join('\n');
}

function configFile(appSection: string, extra = ''): string {
  return `[auth]\napi_keys = "${KEY}"\n[log]\nerror_log = "discard"\n${extra}\n${appSection}\n`;
}

describe('POST /config/reload: new credentials without a restart', () => {
  let sim1: Simulator;
  let sim2: Simulator;
  let app: INestApplication;
  let path: string;
  let accessLog: string;
  let sim2Tables: string;

  const http = (): ReturnType<typeof request> => request(app.getHttpServer());
  const reload = (): request.Test => http().post('/config/reload').set('authorization', `Bearer ${KEY}`);
  const push = (notifications: Record<string, unknown>[]): request.Test =>
    http().post('/push').set('authorization', `Bearer ${KEY}`).send({ notifications });
  const tokens = (sim: Simulator, platform: 'ios' | 'android'): string[] =>
    sim
      .records()
      .filter((r: SimRecord) => r.platform === platform)
      .map((r) => r.token);

  beforeAll(async () => {
    // Latency keeps requests in flight on the old clients while they are replaced.
    [sim1, sim2] = await Promise.all([
      Simulator.start({ topic: TOPIC, fcmProject: 'reload-one', latencyMs: 150 }),
      Simulator.start({ topic: TOPIC, fcmProject: 'reload-two', latencyMs: 150 }),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-reload-'));
    path = join(dir, 'pushgate.toml');
    accessLog = join(dir, 'access.log');
    sim2Tables = appTables(sim2, mkdtempSync(join(tmpdir(), 'pushgate-reload-2-')));
    writeFileSync(path, configFile(appTables(sim1, mkdtempSync(join(tmpdir(), 'pushgate-reload-1-')))));
    // The same file and environment serve the boot and every reload, as in production.
    const source: ConfigSource = { path, env: { PUSHGATE_LOG_ACCESS_LOG: accessLog, PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1' } };
    app = await startReloadableApp(source);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all([sim1.close(), sim2.close()]);
  });

  it('needs an API key like every route', async () => {
    await http().post('/config/reload').expect(401);
  });

  it('swaps both platforms to new credentials while pushes flow, losing and failing none', async () => {
    let n = 0;
    let reloaded = false;
    const after: string[] = [];
    let flowing = true;
    // Long enough that the masked token in the access log ends with the push's number.
    const token = (platform: 'ios' | 'android', id: string): string => `${platform}-reload-${id.padStart(4, '0')}`;
    const flow = (async (): Promise<void> => {
      while (flowing) {
        const id = String(++n);
        const wasReloaded = reloaded;
        await push([ios([token('ios', id)], { app: 'brand_a' }), android([token('android', id)], { app: 'brand_a' })]).expect(200);
        // A push whose request began after the reload was answered is sent with the new clients. One accepted
        // before may still wait in the queue when the clients are swapped, and go out with either.
        if (wasReloaded) after.push(id);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    // The masked tokens the access log says were delivered, by platform.
    const delivered = (platform: 'ios' | 'android'): string[] =>
      readLog(accessLog)
        .filter((l) => l.type === 'succeeded-push' && String(l.token).startsWith(platform))
        .map((l) => String(l.token));
    const inFlight = async (): Promise<number> =>
      (
        (await http().get('/stat/app').set('authorization', `Bearer ${KEY}`).expect(200)).body as {
          apps: Record<string, { in_flight: number }>;
        }
      ).apps.brand_a.in_flight;

    await eventually(() => delivered('ios').length >= 20 && delivered('android').length >= 20, STEP_MS);
    await eventually(async () => (await inFlight()) > 0, STEP_MS);

    writeFileSync(path, configFile(sim2Tables));
    // Delivered before the reload was asked for: with the old clients, whatever the load.
    const before = { ios: delivered('ios'), android: delivered('android') };
    const answer = await reload().expect(200);
    reloaded = true;
    expect(answer.body).toEqual({ message: 'ok', reloaded: ['brand_a.ios', 'brand_a.android'], restart_required: [] });

    await eventually(() => after.length >= 20, STEP_MS);
    flowing = false;
    await flow;

    const total = 2 * n;
    await eventually(
      () => readLog(accessLog).filter((l) => l.type === 'succeeded-push' || l.type === 'failed-push').length >= total,
      STEP_MS,
    );
    const log = readLog(accessLog);
    expect(log.filter((l) => l.type === 'accepted-push')).toHaveLength(total);
    expect(log.filter((l) => l.type === 'succeeded-push')).toHaveLength(total);
    expect(log.filter((l) => l.type === 'failed-push')).toHaveLength(0);

    for (const platform of ['ios', 'android'] as const) {
      const at1 = tokens(sim1, platform);
      const at2 = tokens(sim2, platform);
      // Each push reached exactly one simulator, once: nothing was cut and retried.
      expect(at1.length + at2.length).toBe(n);
      expect(new Set([...at1, ...at2]).size).toBe(n);
      expect(at1.map(maskToken)).toEqual(expect.arrayContaining(before[platform]));
      expect(at2.map(maskToken).filter((t) => before[platform].includes(t))).toEqual([]);
      expect(at2).toEqual(expect.arrayContaining(after.map((id) => token(platform, id))));
    }
    const { apns } = sim2.credentials;
    for (const record of sim2.records()) {
      expect(record.auth).toEqual(
        record.platform === 'ios' ? { kind: 'jwt', keyId: apns.keyId, teamId: apns.teamId } : { kind: 'oauth', project: 'reload-two' },
      );
    }
    expect(sim1.records().every((r) => r.status === 200)).toBe(true);
  });

  it('refuses a bad configuration with every problem, and keeps the clients in use', async () => {
    writeFileSync(
      path,
      configFile(
        sim2Tables
          .replace(/token_auth_key_id = "\w+"/, 'token_auth_key_id = "short"')
          .replace(/ca_path = .*/, 'ca_path = "/nonexistent/ca.pem"'),
      ),
    );
    const answer = await reload().expect(400);
    const { errors } = answer.body as { errors: string[] };
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('apps.brand_a.ios.token_auth_key_id'),
        expect.stringContaining('apps.brand_a.ios.ca_path'),
      ]),
    );

    writeFileSync(path, configFile(sim2Tables, '[apps.brand_c.android]\nservice_account_path = "/nonexistent.json"'));
    expect(((await reload().expect(400)).body as { message: string }).message).toMatch(/service_account_path/);

    writeFileSync(path, configFile(sim2Tables.replace(/\[apps\.brand_a\.android\][\s\S]*/, '')));
    expect(((await reload().expect(400)).body as { message: string }).message).toMatch(/needs a restart/);

    const sent = sim2.records().length;
    await push([ios(['still-ios'], { app: 'brand_a' }), android(['still-android'], { app: 'brand_a' })]).expect(200);
    await eventually(() => sim2.records().length === sent + 2, STEP_MS);
    expect(tokens(sim2, 'ios')).toContain('still-ios');
    expect(tokens(sim2, 'android')).toContain('still-android');
  });

  it('reports keys that need a restart and rebuilds nothing when no credential changed', async () => {
    writeFileSync(path, configFile(sim2Tables, '[core]\nqueues = 100\n[gorush]\nsync = true'));
    const answer = await reload().expect(200);
    expect(answer.body).toEqual({ message: 'ok', reloaded: [], restart_required: ['core.queues', 'gorush.sync'] });
  });

  it('applies a new retry_max to the next sends with the same clients; in_flight_max waits for a restart at every reload', async () => {
    const file = configFile(sim2Tables.replace('timeout = 3', 'timeout = 3\nretry_max = 2'), '[apps.brand_a]\nin_flight_max = 5');
    writeFileSync(path, file);
    const answer = await reload().expect(200);
    expect(answer.body).toEqual({ message: 'ok', reloaded: [], restart_required: ['apps.brand_a.in_flight_max'] });

    // Two refusals in a row: with the booted retry_max (1) the push would fail, with the reloaded one (2) it is sent.
    sim2.failNext('apns', 'ServiceUnavailable', 2);
    await push([ios(['retried-ios'], { app: 'brand_a' })]).expect(200);
    const attempts = (): number[] =>
      sim2
        .records()
        .filter((r) => r.token === 'retried-ios')
        .map((r) => r.status);
    await eventually(() => attempts().includes(200), STEP_MS);
    expect(attempts()).toEqual([503, 503, 200]);

    // The booted in_flight_max is still the one in force, so it is still reported.
    expect((await reload().expect(200)).body).toEqual({ message: 'ok', reloaded: [], restart_required: ['apps.brand_a.in_flight_max'] });
  });
});

// Runs the built gateway (dist/main.js): `npm test` builds it first.
describe('SIGHUP: reopens the logs and reloads the credentials from the file given at start', () => {
  it('switches to the new credentials, and refuses a bad file with an error log line', async () => {
    const [sim1, sim2] = await Promise.all([Simulator.start({ topic: TOPIC }), Simulator.start({ topic: TOPIC })]);
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-reload-sighup-'));
    const path = join(dir, 'pushgate.toml');
    const errorLog = join(dir, 'error.log');
    const port = await freePort();
    const file = (sim: Simulator): string =>
      appTables(sim, mkdtempSync(join(dir, 'creds-')))
        .replace(/\[apps\.brand_a\.ios\]/, '[ios]')
        .replace(/\[apps\.brand_a\.android\]/, '[android]');
    const sim2File = file(sim2);
    writeFileSync(
      path,
      `[core]\nport = ${port}\n[log]\naccess_log = "discard"\nerror_log = ${JSON.stringify(errorLog)}\nlevel = "info"\n${file(sim1)}\n`,
    );
    const gateway = start(mainJs, ['-c', path], {});
    try {
      await answering(port, gateway, START_MS);
      expect((await post(port, '/push', { notifications: [ios(['before-hup'])] })).status).toBe(200);
      await eventually(() => tokens(sim1).includes('before-hup'), STEP_MS);

      writeFileSync(
        path,
        `[core]\nport = ${port}\n[log]\naccess_log = "discard"\nerror_log = ${JSON.stringify(errorLog)}\nlevel = "info"\n${sim2File}\n`,
      );
      gateway.kill('SIGHUP');
      await eventually(() => readFileSync(errorLog, 'utf8').includes('new clients for default.ios, default.android'), STEP_MS);
      expect((await post(port, '/push', { notifications: [ios(['after-hup'])] })).status).toBe(200);
      await eventually(() => tokens(sim2).includes('after-hup'), STEP_MS);

      writeFileSync(path, `[core]\nport = ${port}\n[log]\nerror_log = ${JSON.stringify(errorLog)}\n[ios]\ntoken_auth_key_id = "short"\n`);
      gateway.kill('SIGHUP');
      await eventually(() => readFileSync(errorLog, 'utf8').includes('configuration reload refused'), STEP_MS);
      expect(readFileSync(errorLog, 'utf8')).toMatch(/configuration reload refused[^\n]*token_auth_key_id/);
      expect((await post(port, '/push', { notifications: [ios(['after-bad-hup'])] })).status).toBe(200);
      await eventually(() => tokens(sim2).includes('after-bad-hup'), STEP_MS);
      expect(tokens(sim1)).toEqual(['before-hup']);
      expect(gateway.exitCode).toBeNull();
    } finally {
      gateway.kill('SIGTERM');
      await exited(gateway);
      await Promise.all([sim1.close(), sim2.close()]);
    }

    function tokens(sim: Simulator): string[] {
      return sim
        .records()
        .filter((r) => r.platform === 'ios')
        .map((r) => r.token);
    }
  });
});
