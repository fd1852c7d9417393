import { gaurunTime } from '../src/cli/recover.command';
import { eventually, ios, readLog, startGatewayProcess } from './support/gateway';
import { post } from './support/process';

// Runs the built gateway (dist/main.js): `npm test` builds it first.
jest.setTimeout(60_000);

describe('log.format = "gaurun"', () => {
  it("writes Gaurun's accepted-request and push lines, with numeric ids from 1 and Go's time layout", async () => {
    const gateway = await startGatewayProcess({ PUSHGATE_LOG_ERROR_LOG: 'discard', PUSHGATE_LOG_FORMAT: 'gaurun' });
    const { port, accessLog } = gateway;
    try {
      const body = JSON.stringify({ notifications: [ios(['gaurun-format-token-a', 'gaurun-format-token-b'], { sound: 'default' })] });
      expect((await fetch(`http://127.0.0.1:${port}/push`, { method: 'POST', body })).status).toBe(200);
      await eventually(() => readLog(accessLog).filter((l) => l.type === 'succeeded-push').length === 2, 10_000);
      const lines = readLog(accessLog);
      expect(lines[0]).toEqual({
        level: 'info',
        time: expect.any(String) as string,
        message: '',
        type: 'accepted-request',
        uri: '/push',
        method: 'POST',
        proto: 'HTTP/1.1',
        content_length: Buffer.byteLength(body),
      });
      for (const line of lines) expect(Math.abs(gaurunTime(String(line.time))! - Date.now())).toBeLessThan(60_000);
      const pushes = lines.slice(1);
      expect(pushes.map((l) => [l.type, l.id])).toEqual(
        expect.arrayContaining([
          ['accepted-push', 1],
          ['accepted-push', 2],
          ['succeeded-push', 1],
          ['succeeded-push', 2],
        ]),
      );
      for (const line of pushes) {
        expect(Object.keys(line).slice(0, 9)).toEqual(['level', 'time', 'message', 'id', 'platform', 'token', 'type', 'ptime', 'error']);
        expect(line).toMatchObject({ message: 'hello', platform: 'ios', error: '', sound: 'default' });
      }
      expect((await post(port, '/push', { notifications: [ios(['gaurun-format-token-c'])] })).status).toBe(200);
      await eventually(() => readLog(accessLog).some((l) => l.type === 'succeeded-push' && l.id === 3), 10_000);
    } finally {
      await gateway.stop();
    }
  });
});
