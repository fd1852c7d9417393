import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator, type SimRecord } from '../src/simulator/simulator';
import { simulatorEnv } from './support/gateway';
import { cliJs, run } from './support/process';

// Runs the built command (dist/cli/main.js): `npm test` builds it first.
jest.setTimeout(120_000);

/** A time as Gaurun (zap, Go layout 2006/01/02 15:04:05 MST) wrote it on a server in UTC. */
function goTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('pushgate recover on a Gaurun access log', () => {
  let sim: Simulator;
  let dir: string;
  let env: Record<string, string>;
  let accessLog: string;
  const byToken = (token: string): SimRecord[] => sim.records().filter((r) => r.token === token);

  beforeAll(async () => {
    sim = await Simulator.start();
    dir = mkdtempSync(join(tmpdir(), 'pushgate-gaurun-log-'));
    env = { ...simulatorEnv(sim, dir), PUSHGATE_LOG_ERROR_LOG: 'discard', PUSHGATE_LOG_ACCESS_LOG: 'discard' };
    const now = Date.now();
    const at = goTime(now - 60_000);
    const push = (id: number, type: string, token: string, platform: 'ios' | 'android', fields: Record<string, unknown> = {}): string =>
      JSON.stringify({
        level: type === 'failed-push' ? 'error' : 'info',
        time: at,
        message: 'from gaurun',
        id,
        platform,
        token,
        type,
        ptime: type === 'accepted-push' ? 0 : 0.012,
        error: type === 'failed-push' ? 'Unregistered' : '',
        ...fields,
      });
    const request = JSON.stringify({
      level: 'info',
      time: at,
      message: '',
      type: 'accepted-request',
      uri: '/push',
      method: 'POST',
      proto: 'HTTP/1.1',
      content_length: 321,
    });
    const iosFields = {
      title: 'T',
      subtitle: 'S',
      badge: 2,
      category: 'C',
      sound: 'default',
      mutable_content: true,
      expiry: 3600,
      identifier: 'ident',
    };
    const androidFields = { collapse_key: 'ck', time_to_live: 120, delay_while_idle: true };
    accessLog = join(dir, 'gaurun-access.log');
    writeFileSync(
      accessLog,
      [
        // Run 1: four pushes of two requests, one succeeded, one failed (Gaurun's error log shares stdout here).
        request,
        push(1, 'accepted-push', 'g-done', 'ios', iosFields),
        push(2, 'accepted-push', 'g-ios-lost', 'ios', iosFields),
        request,
        push(3, 'accepted-push', 'g-android-lost', 'android', androidFields),
        push(4, 'accepted-push', 'g-failed', 'android', androidFields),
        push(1, 'succeeded-push', 'g-done', 'ios', iosFields),
        push(4, 'failed-push', 'g-failed', 'android', androidFields),
        // Gaurun restarted: ids from 1 again. Push 1 of this run was lost, push 2 succeeded.
        request,
        push(1, 'accepted-push', 'g-run2-lost', 'android'),
        push(2, 'accepted-push', 'g-run2-done', 'android'),
        push(2, 'succeeded-push', 'g-run2-done', 'android'),
        // Accepted two hours ago with an expiry of an hour: expired.
        JSON.stringify({ ...JSON.parse(push(3, 'accepted-push', 'g-expired', 'ios', { expiry: 3600 })), time: goTime(now - 2 * 3600_000) }),
      ].join('\n') + '\n',
    );
  });
  beforeEach(() => sim.reset());
  afterAll(() => sim.close());

  it('--dry-run lists the accepted pushes that never succeeded, with their run', async () => {
    const ran = await run(cliJs, ['recover', '--dry-run', accessLog], env);
    expect(ran.code).toBe(0);
    expect(lines(ran.stdout)).toEqual([
      { id: 3, run: 2, token: 'g-expired', platform: 'ios', status: 'expired', reason: null },
      { id: 2, run: 1, token: 'g-ios-lost', platform: 'ios', status: 'pending', reason: null },
      { id: 3, run: 1, token: 'g-android-lost', platform: 'android', status: 'pending', reason: null },
      { id: 1, run: 2, token: 'g-run2-lost', platform: 'android', status: 'pending', reason: null },
    ]);
    expect(sim.records()).toHaveLength(0);
  });

  it('re-sends them with every field Gaurun logged, through the configured clients', async () => {
    const ran = await run(cliJs, ['recover', accessLog], env);
    expect(ran.stderr).toMatch(/4 unfinished pushes, 1 expired; re-sent: 3 succeeded/);
    expect(ran.code).toBe(0);
    expect(
      lines(ran.stdout)
        .filter((l) => l.status === 'succeeded')
        .map((l) => [l.run, l.id, l.token]),
    ).toEqual(
      expect.arrayContaining([
        [1, 2, 'g-ios-lost'],
        [1, 3, 'g-android-lost'],
        [2, 1, 'g-run2-lost'],
      ]),
    );
    expect(
      sim
        .records()
        .map((r) => r.token)
        .sort(),
    ).toEqual(['g-android-lost', 'g-ios-lost', 'g-run2-lost']);
    const [ios] = byToken('g-ios-lost');
    expect(ios.payload).toEqual({
      aps: { alert: { title: 'T', subtitle: 'S', body: 'from gaurun' }, badge: 2, category: 'C', sound: 'default', 'mutable-content': 1 },
    });
    // Accepted a minute ago with an hour to live: about 59 minutes left.
    const expiration = Number(ios.headers['apns-expiration']);
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 3400);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + 3540 + 1);
    const [android] = byToken('g-android-lost');
    expect(android.payload).toEqual({
      token: 'g-android-lost',
      data: { message: 'from gaurun' },
      android: { collapse_key: 'ck', ttl: '120s' },
    });
  });

  it('says which file holds no access-log line, with a non-zero exit, and sends nothing', async () => {
    const errorLog = join(dir, 'gaurun-error.log');
    writeFileSync(
      errorLog,
      '2026/11/30 10:00:00 A certification file for iOS is not found.\n{"level":"info","time":"2026/11/30 10:00:00 UTC","message":"start server"}\n',
    );
    const ran = await run(cliJs, ['recover', accessLog, errorLog], env);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(`pushgate: ${errorLog} holds no line of a pushgate or Gaurun access log`);
    expect(ran.stdout).toBe('');
    expect(sim.records()).toHaveLength(0);
  });
});
