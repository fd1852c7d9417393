import { Simulator, type SimRecord } from '../src/simulator/simulator';
import { android, eventually, ios, startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

describe('POST /push delivers through the real clients (field mapping)', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started));
  beforeEach(() => sim.reset());

  async function deliver(notification: Record<string, unknown>): Promise<SimRecord> {
    const res = await gw.http
      .post('/push')
      .send({ notifications: [notification] })
      .expect(200);
    expect(res.body).toEqual({ message: 'ok', count: 1, request_id: expect.any(String) });
    await sim.waitFor(1, 5000);
    const [record] = sim.records();
    return record;
  }

  it('iOS: plain alert string, topic, JWT, no badge unless given, alert push type', async () => {
    const r = await deliver(ios(['0123abcd0123abcd']));
    expect(r.platform).toBe('ios');
    expect(r.token).toBe('0123abcd0123abcd');
    expect(r.status).toBe(200);
    expect(r.payload).toEqual({ aps: { alert: 'hello' } });
    expect(r.headers['apns-topic']).toBe(sim.credentials.apns.topic);
    expect(r.headers['apns-push-type']).toBe('alert');
    expect(r.headers['apns-priority']).toBeUndefined();
    expect(r.headers['apns-expiration']).toBeUndefined();
    expect(r.auth).toEqual(
      expect.objectContaining({ kind: 'jwt', keyId: sim.credentials.apns.keyId, teamId: sim.credentials.apns.teamId }),
    );
  });

  it('iOS: title/subtitle make an alert object; badge 0, sound, category, flags and extend at the root', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await deliver(
      ios(['tok-1'], {
        title: 'T',
        subtitle: 'S',
        badge: 0,
        sound: 'default',
        category: 'news',
        content_available: true,
        mutable_content: true,
        expiry: 60,
        extend: [
          { key: 'url', val: 'https://example.com' },
          { key: 'kind', val: 'promo' },
        ],
      }),
    );
    expect(r.payload).toEqual({
      aps: {
        alert: { title: 'T', subtitle: 'S', body: 'hello' },
        badge: 0,
        sound: 'default',
        category: 'news',
        'content-available': 1,
        'mutable-content': 1,
      },
      url: 'https://example.com',
      kind: 'promo',
    });
    const expiration = Number(r.headers['apns-expiration']);
    expect(expiration).toBeGreaterThanOrEqual(before + 60);
    expect(expiration).toBeLessThanOrEqual(before + 62);
  });

  it('iOS: background pushes go with apns-push-type background and apns-priority 5', async () => {
    const r = await deliver(ios(['tok-bg'], { push_type: 'background', content_available: true }));
    expect(r.headers['apns-push-type']).toBe('background');
    expect(r.headers['apns-priority']).toBe('5');
  });

  it('Android: data = message + extend; collapse_key, ttl and priority in android', async () => {
    const r = await deliver(
      android(['fcm-token-1'], {
        collapse_key: 'updates',
        time_to_live: 3600,
        priority: 'high',
        delay_while_idle: true,
        extend: [{ key: 'k', val: 'v' }],
      }),
    );
    expect(r.platform).toBe('android');
    expect(r.status).toBe(200);
    expect(r.payload).toEqual({
      token: 'fcm-token-1',
      data: { message: 'hello', k: 'v' },
      android: { collapse_key: 'updates', ttl: '3600s', priority: 'HIGH' },
    });
    expect(r.auth).toEqual(expect.objectContaining({ kind: 'oauth', project: sim.credentials.fcm.serviceAccount.project_id }));
  });

  it('Android: a minimal notification sends only the data block', async () => {
    const r = await deliver(android(['fcm-token-2'], { priority: 'normal' }));
    expect(r.payload).toEqual({ token: 'fcm-token-2', data: { message: 'hello' }, android: { priority: 'NORMAL' } });
  });

  it('each token becomes one push, in one request mixing platforms', async () => {
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['a1', 'a2', 'a3']), android(['b1', 'b2'])] })
      .expect(200)
      .expect((res) => expect(res.body).toEqual({ message: 'ok', count: 5, request_id: expect.any(String) }));
    await sim.waitFor(5, 5000);
    const tokens = sim.records().map((r) => `${r.platform}:${r.token}`);
    expect(tokens.sort()).toEqual(['android:b1', 'android:b2', 'ios:a1', 'ios:a2', 'ios:a3']);
    await eventually(async () => (await gw.http.get('/stat/app')).body.pusher_count === 0);
  });
});

describe('APNs certificate authentication', () => {
  it('connects with the client certificate and sends no JWT', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim, {}, 'certificate');
    try {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['cert-token'])] })
        .expect(200);
      await sim.waitFor(1, 5000);
      const [r] = sim.records();
      expect(r.status).toBe(200);
      expect(r.auth.kind).toBe('cert');
      expect(r.headers.authorization).toBeUndefined();
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
