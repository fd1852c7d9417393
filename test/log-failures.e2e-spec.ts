import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../src/simulator/simulator';
import { eventually, ios, startGatewayProcess } from './support/gateway';
import { exited, post } from './support/process';

// Runs the built gateway (dist/main.js): `npm test` builds it first.
jest.setTimeout(60_000);

/** The lines of a log that parse (a write the disk cut short leaves a fragment of one line). */
function lines(path: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Mounts a 64 KB tmpfs at `dir`: a disk that fills up. Returns why it cannot, when it cannot. */
function mountSmallDisk(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root: cannot mount a tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
}

/** Fills the file system of `dir` with 4 KB files until it refuses more; returns their paths. */
function fill(dir: string): string[] {
  const files: string[] = [];
  for (let i = 0; ; i++) {
    const file = join(dir, `filler-${i}`);
    try {
      writeFileSync(file, Buffer.alloc(4096, 120));
      files.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      rmSync(file, { force: true });
      return files;
    }
  }
}

async function metric(port: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

const readiness = async (port: number): Promise<number> => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status;

describe('log write failures and signals', () => {
  let dir: string;
  let sim: Simulator;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pushgate-logfail-'));
    sim = await Simulator.start();
  });
  afterEach(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gateway = (env: Record<string, string>) => startGatewayProcess(env, { sim, dir });

  it('on a full disk: each request is queued whole with its lines or refused 503 with nothing queued; readiness and a metric say why; it recovers', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    const why = mountSmallDisk(disk);
    if (why !== undefined) {
      console.warn(`skipped: ${why}`);
      return;
    }
    const accessLog = join(disk, 'access.log');
    const errorLog = join(dir, 'error.log');
    const gw = await gateway({ PUSHGATE_LOG_ACCESS_LOG: accessLog, PUSHGATE_LOG_ERROR_LOG: errorLog, PUSHGATE_LOG_LEVEL: 'info' });
    try {
      // About 8 KB left: a few requests' lines fit, then the disk is full while their pushes are delivered.
      const fillers = fill(disk);
      for (const file of fillers.slice(0, 2)) rmSync(file);
      const answered: { tokens: string[]; status: number; retryAfter: string | null }[] = [];
      for (let r = 0; r < 30; r++) {
        const tokens = Array.from({ length: 10 }, (_, i) => `${String(r).padStart(2, '0')}${String(i).padStart(2, '0')}${'ab'.repeat(30)}`);
        const res = await post(gw.port, '/push', { notifications: [ios(tokens)] });
        answered.push({ tokens, status: res.status, retryAfter: res.headers.get('retry-after') });
      }
      expect(answered.map((a) => a.status).filter((s) => s !== 200 && s !== 503)).toEqual([]);
      const ok = answered.filter((a) => a.status === 200);
      const refused = answered.filter((a) => a.status === 503);
      expect(ok.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) expect(a.retryAfter).toBe('1');

      // Exactly the pushes of the requests answered 200 are delivered, and journaled: a client retrying a 503 sends
      // nothing twice.
      await eventually(() => sim.counts().apns.ok === ok.length * 10, 15_000);
      expect(await metric(gw.port, 'pushgate_pushes_accepted_total')).toBe(ok.length * 10);
      const mask = (t: string) => `${t.slice(0, 8)}...${t.slice(-4)}`;
      const journaled = lines(accessLog)
        .filter((l) => l.type === 'accepted-push')
        .map((l) => l.token);
      expect(journaled.sort()).toEqual(ok.flatMap((a) => a.tokens.map(mask)).sort());

      expect(await readiness(gw.port)).toBe(503);
      expect(await metric(gw.port, 'pushgate_log_write_errors_total{log="access"}')).toBeGreaterThan(0);
      expect(lines(errorLog).some((l) => String(l.msg).startsWith('access log: write failed'))).toBe(true);
      expect(gw.child.exitCode).toBeNull();

      for (const file of fillers.slice(2)) rmSync(file);
      await eventually(async () => (await readiness(gw.port)) === 200, 10_000);
      const after = ['9999' + 'cd'.repeat(30)];
      expect((await post(gw.port, '/push', { notifications: [ios(after)] })).status).toBe(200);
      await eventually(() => lines(accessLog).some((l) => l.type === 'succeeded-push' && l.token === mask(after[0])), 10_000);
      expect(lines(errorLog).some((l) => String(l.msg).startsWith('access log: writable again'))).toBe(true);
    } finally {
      gw.child.kill('SIGTERM');
      await exited(gw.child);
      execFileSync('umount', [disk]);
    }
  });

  it('SIGTERM with the disk full (/dev/full) exits within the shutdown budget, with nothing queued from refused requests', async () => {
    const gw = await gateway({
      PUSHGATE_LOG_ACCESS_LOG: '/dev/full',
      PUSHGATE_LOG_ERROR_LOG: 'stderr',
      PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1',
    });
    try {
      const status = (await post(gw.port, '/push', { notifications: [ios(['full-disk-token-1'])] })).status;
      const ready = await readiness(gw.port);
      const started = Date.now();
      gw.child.kill('SIGTERM');
      // shutdown_timeout (1 s) plus the 5 s margin, plus the time a loaded machine takes to start exiting.
      await eventually(() => gw.child.exitCode !== null, 8_000);
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(gw.child.exitCode).toBe(0);
      expect(status).toBe(503);
      expect(ready).toBe(503);
      expect(sim.counts().apns.ok).toBe(0);
    } finally {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
      await exited(gw.child);
    }
  });

  it('SIGHUP when the log directory cannot be made again keeps writing to the old file and says so', async () => {
    const logs = join(dir, 'logs');
    const accessLog = join(logs, 'access.log');
    const errorLog = join(dir, 'error.log');
    const gw = await gateway({ PUSHGATE_LOG_ACCESS_LOG: accessLog, PUSHGATE_LOG_ERROR_LOG: errorLog, PUSHGATE_LOG_LEVEL: 'info' });
    try {
      const moved = join(dir, 'logs.1');
      renameSync(logs, moved);
      // A file where the directory was: mkdir fails (EEXIST / ENOTDIR).
      writeFileSync(logs, '');
      gw.child.kill('SIGHUP');
      await eventually(() => lines(errorLog).some((l) => String(l.msg).includes(`cannot reopen ${accessLog}`)), 10_000);
      expect(gw.child.exitCode).toBeNull();
      expect((await post(gw.port, '/push', { notifications: [ios(['after-broken-hup'])] })).status).toBe(200);
      await eventually(() => lines(join(moved, 'access.log')).some((l) => l.type === 'succeeded-push'), 10_000);
    } finally {
      gw.child.kill('SIGTERM');
      await exited(gw.child);
    }
  });

  it('SIGHUP with the logs on stdout and stderr leaves them as they are and goes on', async () => {
    const gw = await gateway({ PUSHGATE_LOG_ACCESS_LOG: 'stdout', PUSHGATE_LOG_ERROR_LOG: 'stderr', PUSHGATE_LOG_LEVEL: 'info' });
    try {
      gw.child.kill('SIGHUP');
      await eventually(() => gw.stderr().includes('SIGHUP: log files reopened'), 10_000);
      expect(gw.child.exitCode).toBeNull();
      expect((await post(gw.port, '/push', { notifications: [ios(['after-stdout-hup'])] })).status).toBe(200);
      await eventually(() => sim.counts().apns.ok === 1, 10_000);
      expect(gw.stderr()).not.toContain('Unable to reopen');
    } finally {
      gw.child.kill('SIGTERM');
      await exited(gw.child);
    }
  });
});
