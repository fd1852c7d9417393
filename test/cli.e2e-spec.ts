import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { maskToken } from '../src/push/push.log';
import { Simulator, type SimRecord } from '../src/simulator/simulator';
import { android, eventually, ios, readLog, simulatorEnv, startGateway } from './support/gateway';
import { answering, cliJs, exited, freePort, mainJs, post, run, start } from './support/process';

// Runs the built command (dist/cli/main.js) and gateway (dist/main.js): `npm test` builds them first.
jest.setTimeout(120_000);

const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const byToken = (sim: Simulator, token: string): SimRecord[] => sim.records().filter((r) => r.token === token);

describe('pushgate send', () => {
  let sim: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = await Simulator.start();
    env = {
      ...simulatorEnv(sim, mkdtempSync(join(tmpdir(), 'pushgate-cli-'))),
      PUSHGATE_LOG_ERROR_LOG: 'discard',
      PUSHGATE_LOG_ACCESS_LOG: 'discard',
    };
  });
  beforeEach(() => sim.reset());
  afterAll(() => sim.close());

  it("sends an iOS notification with its fields through the configured APNs client and prints each token's outcome", async () => {
    const ran = await run(
      cliJs,
      [
        'send',
        '-p',
        'ios',
        '-t',
        'cli-ios-1',
        '-t',
        'sim-BadDeviceToken-cli',
        '-m',
        'Hello',
        '--title',
        'T',
        '--badge',
        '0',
        '--push-type',
        'alert',
        '--content-available',
        '--extend',
        'k=v=w',
      ],
      env,
    );
    expect(lines(ran.stdout)).toEqual([
      { token: 'cli-ios-1', platform: 'ios', status: 'succeeded', reason: null },
      { token: 'sim-BadDeviceToken-cli', platform: 'ios', status: 'failed', reason: 'BadDeviceToken' },
    ]);
    expect(ran.code).toBe(1);
    const [record] = byToken(sim, 'cli-ios-1');
    expect(record.payload).toEqual({ aps: { alert: { title: 'T', body: 'Hello' }, badge: 0, 'content-available': 1 }, k: 'v=w' });
    expect(record.headers).toEqual(expect.objectContaining({ 'apns-push-type': 'alert', 'apns-topic': sim.credentials.apns.topic }));
    expect(record.headers['apns-priority']).toBeUndefined();
  });

  it('sends an Android notification through the FCM client, retrying a retryable error as the gateway would', async () => {
    const ran = await run(
      cliJs,
      [
        'send',
        '--platform',
        'android',
        '--token',
        'sim-flaky1-UNAVAILABLE-cli',
        '--message',
        'Hi',
        '--priority',
        'high',
        '--collapse-key',
        'c',
        '--time-to-live',
        '60',
      ],
      { ...env, PUSHGATE_ANDROID_RETRY_MAX: '1' },
    );
    expect(ran.code).toBe(0);
    expect(lines(ran.stdout)).toEqual([{ token: 'sim-flaky1-UNAVAILABLE-cli', platform: 'android', status: 'succeeded', reason: null }]);
    const records = byToken(sim, 'sim-flaky1-UNAVAILABLE-cli');
    expect(records).toHaveLength(2);
    expect(records[1].payload).toEqual({
      token: 'sim-flaky1-UNAVAILABLE-cli',
      data: { message: 'Hi' },
      android: { collapse_key: 'c', priority: 'HIGH', ttl: '60s' },
    });
  });

  it('refuses what POST /push would refuse, with exit status 2 and nothing sent', async () => {
    const badge = await run(cliJs, ['send', '-p', 'ios', '-t', 'x', '-m', 'hi', '--badge=-1'], env);
    expect(badge.code).toBe(2);
    expect(badge.stderr).toMatch(/badge: badge must not be less than 0/);
    const platform = await run(cliJs, ['send', '-p', 'windows', '-t', 'x', '-m', 'hi'], env);
    expect(platform.code).toBe(2);
    expect(platform.stderr).toMatch(/--platform: expected ios or android/);
    const payload = await run(cliJs, ['send', '-p', 'ios', '-t', 'x', '-m', 'm'.repeat(4000), '--title', 't'.repeat(200)], env);
    expect(payload.code).toBe(2);
    expect(payload.stderr).toMatch(/APNs payload is \d+ bytes, over the 4096-byte limit/);
    expect(sim.records()).toHaveLength(0);
  });
});

describe('pushgate recover', () => {
  let sim: Simulator;
  let dir: string;
  let env: Record<string, string>;
  let accessLog: string;
  /** Ids and tokens of the pushes that two gateway runs left unfinished. */
  const unfinished = new Map<string, string>();

  const IOS_FIELDS = {
    title: 'Title',
    subtitle: 'Sub',
    badge: 3,
    sound: 'default',
    category: 'C',
    mutable_content: true,
    push_type: 'alert',
    expiry: 3600,
    identifier: 'ident',
    extend: [{ key: 'deep_link', val: 'app://x' }],
  };
  const ANDROID_FIELDS = { priority: 'high', collapse_key: 'ck', time_to_live: 120, extend: [{ key: 'k', val: 'v' }] };

  async function gatewayRun(
    entry: string,
    extra: Record<string, string>,
    requests: Record<string, unknown>[][],
    stop: 'SIGKILL' | 'SIGTERM',
  ): Promise<void> {
    const port = await freePort();
    const gateway = start(entry, entry === cliJs ? ['serve'] : [], { ...env, PUSHGATE_CORE_PORT: String(port), ...extra });
    try {
      await answering(port, gateway);
      for (const notifications of requests) {
        sim.latencyMs = requests.indexOf(notifications) === 0 && requests.length > 1 ? 0 : 30_000;
        expect((await post(port, '/push', { notifications })).status).toBe(200);
        const tokens = notifications.flatMap((n) => n.token as string[]);
        if (sim.latencyMs === 0) {
          await eventually(() => tokens.every((t) => readLog(accessLog).some((l) => l.token === t && l.type !== 'accepted-push')), 10_000);
        } else {
          await eventually(() => tokens.every((t) => readLog(accessLog).some((l) => l.token === t && l.type === 'accepted-push')), 10_000);
        }
      }
    } finally {
      gateway.kill(stop);
      await exited(gateway);
      sim.latencyMs = 0;
    }
  }

  beforeAll(async () => {
    sim = await Simulator.start();
    dir = mkdtempSync(join(tmpdir(), 'pushgate-recover-'));
    accessLog = join(dir, 'access.log');
    env = {
      ...simulatorEnv(sim, dir),
      PUSHGATE_LOG_ACCESS_LOG: accessLog,
      PUSHGATE_LOG_ERROR_LOG: 'discard',
      PUSHGATE_CORE_LOG_FULL_TOKEN: 'true',
      PUSHGATE_CORE_WORKERS: '1',
      PUSHGATE_CORE_PUSHER_MAX: '0',
      PUSHGATE_IOS_RETRY_MAX: '0',
      PUSHGATE_ANDROID_RETRY_MAX: '0',
      PUSHGATE_IOS_TIMEOUT: '60',
    };
    // Run 1 (pushgate serve) crashes: two pushes ended, one is in flight and three are queued.
    await gatewayRun(
      cliJs,
      {},
      [
        [ios(['done-ok-1', 'sim-BadDeviceToken-done-2'])],
        [ios(['crash-inflight-3', 'crash-queued-4'], IOS_FIELDS), android(['crash-queued-a1', 'crash-queued-a2'], ANDROID_FIELDS)],
      ],
      'SIGKILL',
    );
    // Run 2 (dist/main.js) stops gracefully with one second to drain: what is left is logged as failed, with
    // Shutdown for the two never sent and ShutdownInFlight for the one sent and unanswered (it may have arrived).
    await gatewayRun(
      mainJs,
      { PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1' },
      [[android(['shutdown-inflight-b0', 'shutdown-b1', 'shutdown-b2'], { message: 'later' })]],
      'SIGTERM',
    );

    const log = readLog(accessLog);
    const ended = new Set(
      log.filter((l) => l.type === 'succeeded-push' || (l.type === 'failed-push' && l.error !== 'Shutdown')).map((l) => l.id),
    );
    for (const l of log) if (l.type === 'accepted-push' && !ended.has(l.id)) unfinished.set(l.id as string, l.token as string);
    expect(
      log
        .filter((l) => l.type === 'failed-push' && l.error === 'Shutdown')
        .map((l) => l.token)
        .sort(),
    ).toEqual(['shutdown-b1', 'shutdown-b2']);
    expect(log.filter((l) => l.type === 'failed-push' && l.error === 'ShutdownInFlight').map((l) => l.token)).toEqual([
      'shutdown-inflight-b0',
    ]);
    expect([...unfinished.values()].sort()).toEqual(
      ['crash-inflight-3', 'crash-queued-4', 'crash-queued-a1', 'crash-queued-a2', 'shutdown-b1', 'shutdown-b2'].sort(),
    );
  });
  beforeEach(() => sim.reset());
  afterAll(() => sim.close());

  function expectExactlyTheUnfinished(stdout: string): void {
    const printed = lines(stdout);
    expect(new Map(printed.map((l) => [l.id, l.token]))).toEqual(unfinished);
    expect(printed.every((l) => l.status === 'succeeded')).toBe(true);
    expect(
      sim
        .records()
        .map((r) => r.token)
        .sort(),
    ).toEqual([...unfinished.values()].sort());
  }

  function expectEveryField(): void {
    const [iosRecord] = byToken(sim, 'crash-queued-4');
    expect(iosRecord.payload).toEqual({
      aps: { alert: { title: 'Title', subtitle: 'Sub', body: 'hello' }, badge: 3, sound: 'default', category: 'C', 'mutable-content': 1 },
      deep_link: 'app://x',
    });
    expect(iosRecord.headers['apns-push-type']).toBe('alert');
    const expiration = Number(iosRecord.headers['apns-expiration']);
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 3500);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + 3600);
    const [androidRecord] = byToken(sim, 'crash-queued-a2');
    expect(androidRecord.payload).toEqual({
      token: 'crash-queued-a2',
      data: { message: 'hello', k: 'v' },
      android: { collapse_key: 'ck', priority: 'HIGH', ttl: '120s' },
    });
    expect((byToken(sim, 'shutdown-b1')[0].payload as { data: unknown }).data).toEqual({ message: 'later' });
  }

  it('--dry-run lists exactly the unfinished pushes and sends nothing', async () => {
    const ran = await run(cliJs, ['recover', '--dry-run', accessLog], env);
    expect(ran.code).toBe(0);
    expect(new Map(lines(ran.stdout).map((l) => [l.id, l.token]))).toEqual(unfinished);
    expect(sim.records()).toHaveLength(0);
  });

  it('leaves the push whose fate is unknown alone, saying so, and lists it too with --include-unknown', async () => {
    const plain = await run(cliJs, ['recover', '--dry-run', accessLog], env);
    expect(plain.stderr).toMatch(/1 pushes were sent and unanswered when the gateway stopped \(ShutdownInFlight\).*--include-unknown/);
    expect(plain.stdout).not.toContain('shutdown-inflight-b0');
    const ran = await run(cliJs, ['recover', '--dry-run', '--include-unknown', accessLog], env);
    expect(ran.code).toBe(0);
    expect(ran.stderr).not.toMatch(/left alone/);
    expect(
      lines(ran.stdout)
        .map((l) => l.token)
        .sort(),
    ).toEqual([...unfinished.values(), 'shutdown-inflight-b0'].sort());
    expect(sim.records()).toHaveLength(0);
  });

  it('re-sends exactly the unfinished pushes, with every field, through a running gateway', async () => {
    const gw = await startGateway(sim);
    const server = gw.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const ran = await run(cliJs, ['recover', '--gateway', `http://127.0.0.1:${port}`, accessLog], {});
      expect(ran.stderr).toMatch(/6 unfinished pushes, 0 expired; re-sent: 6 succeeded/);
      expect(ran.code).toBe(0);
      expectExactlyTheUnfinished(ran.stdout);
      expectEveryField();
      expect(readLog(gw.accessLog).filter((l) => l.type === 'accepted-push')).toHaveLength(6);
    } finally {
      await gw.close();
    }
  });

  it('re-sends exactly the unfinished pushes, with every field, directly through the configured clients', async () => {
    const ran = await run(cliJs, ['recover', accessLog], { ...env, PUSHGATE_LOG_ACCESS_LOG: 'discard' });
    expect(ran.code).toBe(0);
    expectExactlyTheUnfinished(ran.stdout);
    expectEveryField();
  });

  it('refuses a log with masked tokens, naming the setting, and sends nothing', async () => {
    const masked = join(dir, 'masked.log');
    writeFileSync(
      masked,
      readLog(accessLog)
        .map((l) => JSON.stringify({ ...l, token: maskToken(String(l.token)) }))
        .join('\n'),
    );
    const ran = await run(cliJs, ['recover', masked], env);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/6 of the 6 unfinished pushes have masked tokens.*core\.log_full_token = true/);
    expect(ran.stdout).toBe('');
    expect(sim.records()).toHaveLength(0);
  });
});
