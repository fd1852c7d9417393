import { Simulator, type SimRecord } from '../src/simulator/simulator';
import { android, eventually, ios, readLog, type Gateway, simulatedGatewayForSuite } from './support/gateway';

/**
 * Gaurun's samples/client.go, as Go's json.Marshal writes its request: every field of its struct whether set or not
 * (0, "" and false for what it leaves unset), and `data_while_idle`, its misspelling of `delay_while_idle`.
 */
const GAURUN_SAMPLE_BODY =
  '{"notifications":[' +
  '{"token":["0123abcd0123abcd0123abcd"],"platform":1,"message":"Hello, iOS!","collapse_key":"","data_while_idle":false,' +
  '"time_to_live":0,"title":"Greeting","subtitle":"greeting","badge":1,"category":"category1","sound":"default",' +
  '"content_available":true,"expiry":0},' +
  '{"token":["fcm-registration-token-1"],"platform":2,"message":"Hello, Android!","collapse_key":"","data_while_idle":false,' +
  '"time_to_live":0,"title":"","subtitle":"","badge":0,"category":"","sound":"","content_available":false,"expiry":0}]}';

function byPlatform(records: SimRecord[], platform: 'ios' | 'android'): SimRecord {
  const found = records.filter((r) => r.platform === platform);
  expect(found).toHaveLength(1);
  return found[0];
}

async function metric(gw: Gateway, series: string): Promise<number | undefined> {
  const text = (await gw.http.get('/metrics').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("POST /push reads Gaurun's requests as Gaurun did", () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started));
  beforeEach(() => sim.reset());

  it("delivers Gaurun's sample-client body, its misspelt key ignored and named, 0 TTL and 0 expiry left unset", async () => {
    const before = (await metric(gw, 'pushgate_request_unknown_keys_total')) ?? 0;
    const res = await gw.http.post('/push').set('Content-Type', 'application/json').send(GAURUN_SAMPLE_BODY).expect(200);
    expect(res.body).toEqual({
      message: 'ok',
      count: 2,
      request_id: expect.any(String),
      warnings: ['notifications[0].data_while_idle: unknown key, ignored', 'notifications[1].data_while_idle: unknown key, ignored'],
    });
    await sim.waitFor(2, 5000);
    const records = sim.records();
    const apns = byPlatform(records, 'ios');
    expect(apns.status).toBe(200);
    expect(apns.payload).toEqual({
      aps: {
        alert: { title: 'Greeting', subtitle: 'greeting', body: 'Hello, iOS!' },
        badge: 1,
        category: 'category1',
        sound: 'default',
        'content-available': 1,
      },
    });
    expect(apns.headers['apns-expiration']).toBeUndefined();
    const fcm = byPlatform(records, 'android');
    expect(fcm.status).toBe(200);
    // No "0s" TTL ("now or never"): FCM keeps its default, as with Gaurun.
    expect(fcm.payload).toEqual({ token: 'fcm-registration-token-1', data: { message: 'Hello, Android!' }, android: {} });
    expect(await metric(gw, 'pushgate_request_unknown_keys_total')).toBe(before + 2);
  });

  it("matches keys in any case, as Go does, and accepts Gaurun's retry and seq_id without a warning", async () => {
    const res = await gw.http
      .post('/push')
      .send({
        Notifications: [
          {
            Token: ['fcm-token-case'],
            PLATFORM: 2,
            Message: 'hi',
            Time_To_Live: 60,
            Extend: [{ Key: 'k', VAL: 'v' }],
            retry: 1,
            seq_id: 7,
          },
          { token: ['0123abcd0123abcd'], Platform: 1, message: 'hey', Expiry: 60, Push_Type: 'alert' },
        ],
      })
      .expect(200);
    expect(res.body).toEqual({ message: 'ok', count: 2, request_id: expect.any(String) });
    await sim.waitFor(2, 5000);
    const fcm = byPlatform(sim.records(), 'android');
    expect(fcm.payload).toEqual({ token: 'fcm-token-case', data: { message: 'hi', k: 'v' }, android: { ttl: '60s' } });
    const apns = byPlatform(sim.records(), 'ios');
    expect(apns.payload).toEqual({ aps: { alert: 'hey' } });
    expect(Number(apns.headers['apns-expiration'])).toBeGreaterThan(Date.now() / 1000);
  });

  it('names unknown keys at every level by their path, and still refuses what is invalid with the usual messages', async () => {
    const ok = await gw.http
      .post('/push')
      .send({ notifications: [android(['fcm-token-w'], { extend: [{ key: 'a', val: 'b', colour: 'red' }] })], trace: 'x' })
      .expect(200);
    expect(ok.body.warnings).toEqual(['notifications[0].extend[0].colour: unknown key, ignored', 'trace: unknown key, ignored']);
    const bad = await gw.http
      .post('/push')
      .send({ notifications: [ios(['t'], { platform: 3, data_while_idle: true })] })
      .expect(400);
    expect(bad.body).toEqual({
      message: 'notifications[0].platform: platform must be 1 (iOS) or 2 (Android)',
      errors: ['notifications[0].platform: platform must be 1 (iOS) or 2 (Android)'],
      request_id: expect.any(String),
    });
  });
});

describe('POST /push with core.strict_keys = true', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), { PUSHGATE_CORE_STRICT_KEYS: 'true' });

  it('refuses unknown keys and keys in another case, and queues nothing', async () => {
    const res = await gw.http.post('/push').set('Content-Type', 'application/json').send(GAURUN_SAMPLE_BODY).expect(400);
    expect(res.body).toEqual({
      message: 'notifications[0].data_while_idle: property data_while_idle should not exist (and 1 more)',
      errors: [
        'notifications[0].data_while_idle: property data_while_idle should not exist',
        'notifications[1].data_while_idle: property data_while_idle should not exist',
      ],
      request_id: expect.any(String),
    });
    const cased = await gw.http
      .post('/push')
      .send({ notifications: [{ Token: ['x'], platform: 2, message: 'hi' }] })
      .expect(400);
    expect(cased.body.errors).toContain('notifications[0].Token: property Token should not exist');
    const top = await gw.http
      .post('/push')
      .send({ notifications: [android(['y'])], extra: 1 })
      .expect(400);
    expect(top.body.errors).toEqual(['extra: property extra should not exist']);
    await gw.http
      .post('/push')
      .send({ notifications: [android(['fcm-strict'], { time_to_live: 0 })] })
      .expect(200);
    await sim.waitFor(1, 5000);
    expect(sim.records().map((r) => r.token)).toEqual(['fcm-strict']);
    expect(sim.records()[0].payload).toEqual({ token: 'fcm-strict', data: { message: 'hello' }, android: {} });
  });
});

describe('POST /push with ios.enabled = false', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), { PUSHGATE_IOS_ENABLED: 'false' });

  it('delivers the Android pushes of a mixed request and skips the iOS ones with a disabled-push line each', async () => {
    const res = await gw.http
      .post('/push')
      .send({ notifications: [ios(['ios-token-aaaa-1111', 'ios-token-bbbb-2222'], { identifier: 'mixed' }), android(['fcm-token-mixed'])] })
      .expect(200);
    expect(res.body).toEqual({ message: 'ok', count: 1, skipped: 2, request_id: expect.any(String) });
    await sim.waitFor(1, 5000);
    expect(sim.records().map((r) => `${r.platform}:${r.token}`)).toEqual(['android:fcm-token-mixed']);

    await eventually(() => readLog(gw.accessLog).some((l) => l.type === 'succeeded-push'));
    const lines = readLog(gw.accessLog);
    const disabled = lines.filter((l) => l.type === 'disabled-push');
    expect(disabled).toEqual([
      expect.objectContaining({ platform: 'ios', token: 'ios-toke...1111', identifier: 'mixed', message: 'hello', id: expect.any(String) }),
      expect.objectContaining({ platform: 'ios', token: 'ios-toke...2222', identifier: 'mixed', message: 'hello', id: expect.any(String) }),
    ]);
    expect(new Set(disabled.map((l) => l.id)).size).toBe(2);
    expect(lines.filter((l) => l.type === 'accepted-push').map((l) => l.platform)).toEqual(['android']);

    const stat = (await gw.http.get('/stat/app').expect(200)).body as Record<'ios' | 'android', Record<string, number>>;
    expect(stat.ios.push_disabled).toBe(2);
    expect(stat.android.push_disabled).toBe(0);
    expect(stat.android.push_success).toBe(1);
    expect(await metric(gw, 'pushgate_pushes_disabled_total{platform="ios"}')).toBe(2);
  });

  it('answers 200 with nothing queued when every notification is for the disabled platform', async () => {
    sim.reset();
    const res = await gw.http
      .post('/push?wait=true')
      .send({ notifications: [ios(['ios-only-token-1'])] })
      .expect(200);
    expect(res.body).toEqual({ message: 'ok', count: 0, skipped: 1, request_id: expect.any(String), results: [] });
    const status = await gw.http.get(`/push/${res.body.request_id}`).expect(200);
    expect(status.body).toEqual(expect.objectContaining({ queued: 0, pending: 0, done: true }));
    expect(sim.records()).toHaveLength(0);
  });
});
