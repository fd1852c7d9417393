import { android, eventually, readLog, startGatewayProcess } from './support/gateway';
import { post } from './support/process';

// Runs the built gateway (dist/main.js): `npm test` builds it first.
jest.setTimeout(60_000);

describe('FCM service-account credential', () => {
  it('fetches access tokens from the service-account file without a plain-text line on stderr, and FCM pushes succeed', async () => {
    const gateway = await startGatewayProcess({ PUSHGATE_LOG_LEVEL: 'info' });
    const { sim, accessLog } = gateway;
    try {
      const tokens = ['fcm-credential-token-a', 'fcm-credential-token-b'];
      expect((await post(gateway.port, '/push', { notifications: [android(tokens)] })).status).toBe(200);
      await eventually(() => readLog(accessLog).filter((l) => l.type === 'succeeded-push').length === 2, 15_000);
      const delivered = sim.records().filter((r) => r.platform === 'android' && r.status === 200);
      expect(delivered.map((r) => r.token).sort()).toEqual(tokens);
      // Authorised by an access token that the simulator issued for the service account's signed assertion.
      expect(delivered.map((r) => r.auth.kind)).toEqual(['oauth', 'oauth']);
      expect(sim.counts().oauth).toBeGreaterThan(0);
      // Every line on stderr is a JSON log line: no library notice in plain text.
      const lines = gateway
        .stderr()
        .split('\n')
        .filter((line) => line.trim() !== '');
      expect(lines.filter((line) => !isJsonObject(line))).toEqual([]);
    } finally {
      await gateway.stop();
    }
  });
});

function isJsonObject(line: string): boolean {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}
