import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaurunTime, regroup, UNKNOWN_FATE_REASON, unfinishedPushes } from './recover.command';
import { CommandError } from './notification';

const dir = mkdtempSync(join(tmpdir(), 'pushgate-recover-unit-'));
let n = 0;
function log(lines: (Record<string, unknown> | string)[]): string {
  const path = join(dir, `log-${++n}`);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

/** A Gaurun (zap) push line. */
const g = (id: number, type: string, token: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  level: type === 'failed-push' ? 'error' : 'info',
  time: '2026/11/30 10:00:00 UTC',
  message: 'hello',
  id,
  platform: 'ios',
  token,
  type,
  ptime: 0,
  error: '',
  ...extra,
});

describe('gaurunTime', () => {
  it("reads Go's 2006/01/02 15:04:05 MST layout with UTC, GMT and numeric zones", () => {
    expect(gaurunTime('2026/11/30 10:00:00 UTC')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
    expect(gaurunTime('2026/11/30 10:00:00 GMT')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
    expect(gaurunTime('2026/11/30 19:00:00 +09')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
    expect(gaurunTime('2026/11/30 06:30:00 -0330')).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
  });

  it('reads other abbreviations in the local time zone, and nothing else', () => {
    expect(gaurunTime('2026/11/30 10:00:00 JST')).toBe(new Date(2026, 10, 30, 10, 0, 0).getTime());
    expect(gaurunTime('2026-11-30T10:00:00.000Z')).toBeUndefined();
  });
});

describe('unfinishedPushes with Gaurun lines', () => {
  it('finds accepted pushes without a succeeded-push line, telling the runs of a restarted Gaurun apart', async () => {
    const path = log([
      {
        level: 'info',
        time: '2026/11/30 10:00:00 UTC',
        message: '',
        type: 'accepted-request',
        uri: '/push',
        method: 'POST',
        proto: 'HTTP/1.1',
        content_length: 99,
      },
      g(1, 'accepted-push', 'a1'),
      g(2, 'accepted-push', 'a2'),
      g(3, 'accepted-push', 'a3'),
      g(1, 'succeeded-push', 'a1'),
      g(3, 'failed-push', 'a3', { error: 'Unregistered' }),
      // Gaurun restarted: its ids start at 1 again.
      g(1, 'accepted-push', 'b1'),
      g(2, 'accepted-push', 'b2'),
      g(2, 'succeeded-push', 'b2'),
    ]);
    const found = await unfinishedPushes([path]);
    expect(found.map((p) => [p.run, p.id, p.token])).toEqual([
      [1, 2, 'a2'],
      [2, 1, 'b1'],
    ]);
    expect(found[0].acceptedAt).toBe(Date.UTC(2026, 10, 30, 10, 0, 0));
  });

  it('shortens expiry by the time since acceptance, from the Gaurun time', async () => {
    const path = log([g(1, 'accepted-push', 'x', { expiry: 600, time: '2026/11/30 10:00:00 UTC' })]);
    const { groups } = regroup(await unfinishedPushes([path]), Date.UTC(2026, 10, 30, 10, 1, 40));
    expect(groups[0].notification).toEqual(expect.objectContaining({ platform: 1, message: 'hello', expiry: 500 }));
  });

  it('refuses a file that holds no access-log line, naming it', async () => {
    const text = log(['2026/11/30 10:00:00 start server', '{"level":"error","msg":"something"}']);
    await expect(unfinishedPushes([text])).rejects.toThrow(CommandError);
    await expect(unfinishedPushes([text])).rejects.toThrow(`${text} holds no line of a pushgate or Gaurun access log`);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    await expect(unfinishedPushes([empty])).rejects.toThrow(`${empty} is empty`);
  });
});

describe('unfinishedPushes with pushgate lines', () => {
  const line = (id: string, type: string, error?: string): Record<string, unknown> => ({
    time: '2026-11-30T10:00:00.000Z',
    id,
    platform: 'ios',
    token: `t-${id}`,
    type,
    ...(error === undefined ? {} : { error }),
  });
  const path = (): string =>
    log([
      line('b-0-0', 'accepted-push'),
      line('b-0-1', 'accepted-push'),
      line('b-0-2', 'accepted-push'),
      line('b-0-0', 'failed-push', 'ShutdownInFlight'),
      line('b-0-1', 'failed-push', 'Shutdown'),
      line('b-0-2', 'failed-push', 'BadDeviceToken'),
    ]);

  it('leaves out a push whose send was unanswered at shutdown, naming it, and re-sends one never sent', async () => {
    const unknown: (string | number)[] = [];
    const pushes = await unfinishedPushes([path()], new Set(), (id) => unknown.push(id));
    expect(pushes.map((p) => p.id)).toEqual(['b-0-1']);
    expect(unknown).toEqual(['b-0-0']);
  });

  it('includes it when its reason is asked for, as --include-unknown does', async () => {
    const unknown: (string | number)[] = [];
    const pushes = await unfinishedPushes([path()], new Set([UNKNOWN_FATE_REASON]), (id) => unknown.push(id));
    expect(pushes.map((p) => p.id)).toEqual(['b-0-0', 'b-0-1']);
    expect(unknown).toEqual([]);
  });
});
