import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskToken } from '../src/push/push.log';
import { Simulator } from '../src/simulator/simulator';
import { eventually, ios, readLog, startGatewayProcess, type GatewayProcess } from './support/gateway';
import { post } from './support/process';

// Runs the built gateway (dist/main.js): `npm test` builds it first.
/** One step waited for: a delivery, the reopen after SIGHUP. */
const STEP_MS = 20_000;
/** startGatewayProcess waits 30 s for the start; the stop drains for core.shutdown_timeout and its margin. */
const START_MS = 30_000;
const STOP_MS = 15_000;
// The test's own deadlines end to end, so that a slow step fails with its own message rather than the test with jest's.
jest.setTimeout(START_MS + 3 * STEP_MS + STOP_MS);

describe('SIGHUP', () => {
  it('reopens the access log: after logrotate renamed it, new lines go to a new file at the configured path', async () => {
    const gateway = await startGatewayProcess({ PUSHGATE_LOG_ERROR_LOG: 'discard' });
    const { port, dir, accessLog } = gateway;
    try {
      expect((await post(port, '/push', { notifications: [ios(['before-rotate'])] })).status).toBe(200);
      const pushed = (log: string, token: string): boolean =>
        readLog(log).some((l) => l.type === 'succeeded-push' && l.token === maskToken(token));
      await eventually(() => pushed(accessLog, 'before-rotate'), STEP_MS);

      const rotated = join(dir, 'access.log.1');
      renameSync(accessLog, rotated);
      gateway.child.kill('SIGHUP');
      // The reopen happens in the gateway's event loop: poll with pushes until one lands in the new file. A push's
      // accepted-push line is written before its request is answered.
      let n = 0;
      await eventually(
        async () => {
          expect((await post(port, '/push', { notifications: [ios([`after-rotate-${++n}`])] })).status).toBe(200);
          return readLog(accessLog).some((l) => l.type === 'accepted-push');
        },
        STEP_MS,
        100,
      );

      await eventually(() => pushed(accessLog, `after-rotate-${n}`), STEP_MS);
      expect(
        readLog(rotated)
          .filter((l) => l.type === 'accepted-push')
          .map((l) => l.token),
      ).toContain('before-r...tate');
      expect(readLog(accessLog).some((l) => String(l.token).startsWith('before-r'))).toBe(false);
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      await gateway.stop();
    }
  });

  it('a SIGHUP while the gateway starts is kept until it listens, not the end of the process', async () => {
    const sim = await Simulator.start();
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-process-'));
    const errorLog = join(dir, 'error.log');
    const errorLines = (): string => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
    let watcher: FSWatcher | undefined;
    let gateway: GatewayProcess | undefined;
    // The access log is opened while Nest builds the application, before the gateway listens.
    let signalledBeforeListening: boolean | undefined;
    try {
      gateway = await startGatewayProcess({ PUSHGATE_LOG_ERROR_LOG: errorLog, PUSHGATE_LOG_LEVEL: 'info' }, { sim, dir }, (child) => {
        watcher = watch(dir, (_event, name) => {
          if (name !== 'access.log' || signalledBeforeListening !== undefined) return;
          signalledBeforeListening = !errorLines().includes('listening on');
          child.kill('SIGHUP');
        });
      });
      expect(signalledBeforeListening).toBe(true);
      await eventually(() => errorLines().includes('SIGHUP: log files reopened, reloading the configuration'), STEP_MS);
      expect((await post(gateway.port, '/push', { notifications: [ios(['after-early-hup'])] })).status).toBe(200);
      expect(gateway.child.exitCode).toBeNull();
      expect(gateway.child.signalCode).toBeNull();
    } finally {
      watcher?.close();
      await gateway?.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
