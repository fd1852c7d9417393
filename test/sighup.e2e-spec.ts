import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, ios, readLog, startGatewayProcess } from './support/gateway';
import { post } from './support/process';

// Runs the built gateway (dist/main.js): `npm test` builds it first.
jest.setTimeout(60_000);

describe('SIGHUP', () => {
  it('reopens the access log: after logrotate renamed it, new lines go to a new file at the configured path', async () => {
    const gateway = await startGatewayProcess({ PUSHGATE_LOG_ERROR_LOG: 'discard' });
    const { port, dir, accessLog } = gateway;
    try {
      expect((await post(port, '/push', { notifications: [ios(['before-rotate'])] })).status).toBe(200);
      const pushed = (log: string, token: string): boolean =>
        readLog(log).some((l) => l.type === 'succeeded-push' && l.token === token.replace(/^(.{8}).*(.{4})$/, '$1...$2'));
      await eventually(() => pushed(accessLog, 'before-rotate'), 10_000);

      const rotated = join(dir, 'access.log.1');
      renameSync(accessLog, rotated);
      gateway.child.kill('SIGHUP');
      // The reopen happens in the gateway's event loop: poll with pushes until one lands in the new file.
      let n = 0;
      await eventually(async () => {
        expect((await post(port, '/push', { notifications: [ios([`after-rotate-${++n}`])] })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 100));
        return readLog(accessLog).some((l) => l.type === 'accepted-push');
      }, 10_000);

      await eventually(() => pushed(accessLog, `after-rotate-${n}`), 10_000);
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
});
