import type { Simulator, SimRecord } from '../src/simulator/simulator';
import { eventually, scopedKeysEnv, simulatedGatewayForSuite, type Gateway } from './support/gateway';

/**
 * Gorush's API (`appleboy/gorush`) on pushgate: the request examples of Gorush's README sent to `/api/push`, delivered
 * through the real clients to the simulator, and Gorush's read endpoints.
 */
describe("Gorush's API: POST /api/push and the read endpoints", () => {
  const ALLOWED_TOPIC = 'com.example.pushgate.widget';
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), {
    PUSHGATE_IOS_TOPICS: ALLOWED_TOPIC,
    PUSHGATE_GORUSH_METRIC_NAMES: 'true',
    PUSHGATE_AUTH_API_KEYS: 'gorush-client-key',
  });
  beforeEach(() => sim.reset());

  const auth = { Authorization: 'Bearer gorush-client-key' };

  async function push(body: unknown, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await gw.http
      .post(`/api/push${query}`)
      .set(auth)
      .send(body as object);
    return { status: res.status, body: res.body as Record<string, unknown> };
  }

  async function delivered(body: unknown, count: number): Promise<SimRecord[]> {
    const res = await push(body);
    expect(res).toEqual({ status: 200, body: { counts: count, logs: [], success: 'ok' } });
    await sim.waitFor(count, 5000);
    return sim.records().sort((a, b) => a.token.localeCompare(b.token));
  }

  it("iOS: README's first example, one alert string per token, to the app's topic", async () => {
    const records = await delivered({ notifications: [{ tokens: ['token_a', 'token_b'], platform: 1, message: 'Hello World iOS!' }] }, 2);
    expect(records.map((r) => r.token)).toEqual(['token_a', 'token_b']);
    for (const r of records) {
      expect(r.status).toBe(200);
      expect(r.payload).toEqual({ aps: { alert: 'Hello World iOS!' } });
      expect(r.headers['apns-topic']).toBe(sim.credentials.apns.topic);
      expect(r.headers['apns-push-type']).toBe('alert');
    }
  });

  it('iOS: data keys at the root with their JSON types; alert, critical sound, thread-id, collapse id, expiration', async () => {
    const expiration = Math.floor(Date.now() / 1000) + 3600;
    const [r] = await delivered(
      {
        notifications: [
          {
            tokens: ['token_c'],
            platform: 1,
            message: 'ignored for alert.body',
            alert: { title: 'Game', subtitle: 'Final', body: 'You won' },
            badge: 0,
            category: 'score',
            sound: { critical: 1, name: 'alarm.caf', volume: 0.5 },
            'thread-id': 'match-7',
            collapse_id: 'score-7',
            mutable_content: true,
            expiration,
            notif_id: 'n-1',
            data: { key1: 'welcome', key2: 2 },
          },
        ],
      },
      1,
    );
    expect(r.payload).toEqual({
      aps: {
        alert: { title: 'Game', subtitle: 'Final', body: 'You won' },
        badge: 0,
        category: 'score',
        sound: { critical: 1, name: 'alarm.caf', volume: 0.5 },
        'thread-id': 'match-7',
        'mutable-content': 1,
      },
      key1: 'welcome',
      key2: 2,
    });
    expect(r.headers['apns-collapse-id']).toBe('score-7');
    expect(Number(r.headers['apns-expiration'])).toBeGreaterThanOrEqual(expiration);
    expect(Number(r.headers['apns-expiration'])).toBeLessThanOrEqual(expiration + 1);
  });

  it("Android: README's examples: title and message as the FCM notification, data values as strings", async () => {
    const [r] = await delivered(
      {
        notifications: [
          {
            tokens: ['token_d'],
            platform: 2,
            message: 'Hello World Android!',
            title: 'You got message',
            priority: 'high',
            notification: { icon: 'myicon', color: '#112244' },
            data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark', round: 2 },
          },
        ],
      },
      1,
    );
    expect(r.platform).toBe('android');
    expect(r.status).toBe(200);
    expect(r.payload).toEqual({
      token: 'token_d',
      notification: { title: 'You got message', body: 'Hello World Android!' },
      data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark', round: '2' },
      android: { priority: 'HIGH' },
    });
  });

  it('Android: image, and FCM v1 android.collapse_key, priority and ttl', async () => {
    const [r] = await delivered(
      {
        notifications: [
          {
            tokens: ['token_e'],
            platform: 2,
            message: 'Look',
            image: 'https://example.com/a.png',
            android: { collapse_key: 'gallery', priority: 'normal', ttl: '600s' },
          },
        ],
      },
      1,
    );
    expect(r.payload).toEqual({
      token: 'token_e',
      notification: { body: 'Look', image: 'https://example.com/a.png' },
      android: { collapse_key: 'gallery', priority: 'NORMAL', ttl: '600s' },
    });
  });

  it('topic: a listed topic becomes apns-topic; one not listed is refused, naming the field and the key', async () => {
    const [r] = await delivered({ notifications: [{ tokens: ['token_f'], platform: 1, message: 'hi', topic: ALLOWED_TOPIC }] }, 1);
    expect(r.headers['apns-topic']).toBe(ALLOWED_TOPIC);

    sim.reset();
    const refused = await push({ notifications: [{ tokens: ['token_g'], platform: 1, message: 'hi', topic: 'com.someone.else' }] });
    expect(refused).toEqual({
      status: 400,
      body: {
        code: 400,
        message: 'notifications[0].topic: "com.someone.else" is not one of the topics this app may push to (ios.topics)',
        request_id: expect.any(String),
      },
    });
    // pushgate's own format is held to the same list.
    const own = await gw.http
      .post('/push')
      .set(auth)
      .send({ notifications: [{ token: ['token_h'], platform: 1, message: 'hi', topic: 'com.someone.else' }] });
    expect(own.status).toBe(400);
    expect(own.body).toEqual(
      expect.objectContaining({ message: expect.stringContaining('notifications[0].topic: "com.someone.else" is not one') }),
    );
    const ownAllowed = await gw.http
      .post('/push')
      .set(auth)
      .send({ notifications: [{ token: ['token_i'], platform: 1, message: 'hi', topic: ALLOWED_TOPIC }] });
    expect(ownAllowed.status).toBe(200);
    await sim.waitFor(1, 5000);
    expect(sim.records().map((rec) => [rec.token, rec.headers['apns-topic']])).toEqual([['token_i', ALLOWED_TOPIC]]);
  });

  it("sync mode: the answer waits for the outcomes and lists every failed token in Gorush's log format", async () => {
    const res = await push(
      {
        notifications: [
          { tokens: ['ok-ios', 'sim-BadDeviceToken-1'], platform: 1, message: 'Hello World iOS!', notif_id: 'campaign-9' },
          { tokens: ['sim-UNREGISTERED-2', 'ok-android'], platform: 2, message: 'Hello World Android!' },
        ],
      },
      '?sync=true',
    );
    expect(res).toEqual({
      status: 200,
      body: {
        counts: 4,
        logs: [
          {
            notif_id: 'campaign-9',
            type: 'failed-push',
            platform: 'ios',
            token: 'sim-BadDeviceToken-1',
            message: 'Hello World iOS!',
            error: 'BadDeviceToken',
          },
          { type: 'failed-push', platform: 'android', token: 'sim-UNREGISTERED-2', message: 'Hello World Android!', error: 'UNREGISTERED' },
        ],
        success: 'ok',
      },
    });
    expect(sim.records()).toHaveLength(4);
  });

  it("Gorush's 400 answers, and nothing of a request with one bad notification is queued", async () => {
    const before = (await gw.http.get('/api/stat/app').expect(200)).body as { total_count: number };
    const cases: [unknown, string][] = [
      [{}, 'Missing notifications field.'],
      [{ notifications: 'x' }, 'Missing notifications field.'],
      [{ notifications: [] }, 'Notifications field is empty.'],
      [
        { notifications: Array.from({ length: 101 }, () => ({ tokens: ['t'], platform: 1, message: 'm' })) },
        'Number of notifications(101) over limit(100)',
      ],
      [
        { notifications: [{ tokens: ['t'], platform: 3, message: 'm' }] },
        'notifications[0].platform: 3 (Huawei) is not supported by pushgate; only 1 (iOS) and 2 (Android)',
      ],
      [{ notifications: [{ platform: 1, message: 'm' }] }, 'notifications[0].tokens: tokens must not be nil or empty'],
      [
        { notifications: [{ to: '/topics/foo-bar', platform: 2, message: 'm' }] },
        'notifications[0].to: FCM topic messages are not supported by pushgate; send to tokens',
      ],
      [
        { notifications: [{ tokens: ['t'], platform: 1, message: 'm', production: true }] },
        'notifications[0].production: this gateway sends to the APNs sandbox (ios.sandbox = true)',
      ],
      [
        { notifications: [{ tokens: ['t'], platform: 1, message: 'm', interruption_level: 'active' }] },
        'notifications[0].interruption_level: not supported by pushgate',
      ],
      [
        { notifications: [{ tokens: ['t'], platform: 1, message: 'm', push_type: 'voip' }] },
        'notifications[0].push_type: push_type must be one of the following values: alert, background',
      ],
      [
        {
          notifications: [
            { tokens: ['fine'], platform: 1, message: 'm' },
            { tokens: [''], platform: 2, message: 'm' },
          ],
        },
        'notifications[1].tokens: each value in token should not be empty',
      ],
    ];
    for (const [body, message] of cases) {
      expect(await push(body)).toEqual({ status: 400, body: { code: 400, message, request_id: expect.any(String) } });
    }
    for (const raw of ['{"notifications": [', '']) {
      const res = await gw.http.post('/api/push').set(auth).set('Content-Type', 'application/json').send(raw);
      expect({ status: res.status, body: res.body as unknown }).toEqual({
        status: 400,
        body: { code: 400, message: 'Missing notifications field.', request_id: expect.any(String) },
      });
    }
    const after = (await gw.http.get('/api/stat/app').expect(200)).body as { total_count: number };
    expect(after.total_count).toBe(before.total_count);
    expect(sim.records()).toHaveLength(0);
  });

  it("read endpoints: /api/stat/app in Gorush's fields, /api/stat/go, /healthz open, /api/config behind the key and redacted", async () => {
    const before = (await gw.http.get('/api/stat/app').expect(200)).body as { ios: { push_success: number }; total_count: number };
    await delivered({ notifications: [{ tokens: ['token_s'], platform: 1, message: 'm' }] }, 1);
    let stats: Record<string, unknown> = {};
    await eventually(async () => {
      stats = (await gw.http.get('/api/stat/app').expect(200)).body as Record<string, unknown>;
      return (stats.ios as { push_success: number }).push_success === before.ios.push_success + 1;
    });
    expect(Object.keys(stats).sort()).toEqual(
      ['android', 'busy_workers', 'failure_tasks', 'huawei', 'ios', 'submitted_tasks', 'success_tasks', 'total_count', 'version'].sort(),
    );
    expect(stats.total_count).toBe(before.total_count + 1);
    expect(stats.huawei).toEqual({ push_success: 0, push_error: 0 });

    const go = (await gw.http.get('/api/stat/go').expect(200)).body as Record<string, unknown>;
    expect(go).toEqual(
      expect.objectContaining({ go_version: expect.any(String), heap_alloc: expect.any(Number), gc_num: expect.any(Number) }),
    );

    await gw.http.get('/healthz').expect(200);
    await gw.http.head('/healthz').expect(200);

    await gw.http.get('/api/config').expect(401);
    const config = (await gw.http.get('/api/config').set(auth).expect(200)).body as { auth: { api_keys: string }; ios: { topics: string } };
    expect(config.auth.api_keys).toBe('<redacted>');
    expect(config.ios.topics).toBe(ALLOWED_TOPIC);
  });

  it("metric names: with gorush.metric_names, /metrics carries the Gorush series beside pushgate's", async () => {
    const text = (await gw.http.get('/metrics').expect(200)).text;
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const stats = (await gw.http.get('/api/stat/app').expect(200)).body as {
      total_count: number;
      ios: { push_success: number; push_error: number };
      android: { push_success: number; push_error: number };
    };
    expect(value('gorush_total_push_count')).toBe(stats.total_count);
    expect(value('gorush_ios_success')).toBe(stats.ios.push_success);
    expect(value('gorush_ios_error')).toBe(stats.ios.push_error);
    expect(value('gorush_android_success')).toBe(stats.android.push_success);
    expect(value('gorush_android_fail')).toBe(stats.android.push_error);
    expect(value('gorush_huawei_fail')).toBe(0);
    expect(text).toMatch(/^gorush_busy_workers \d+$/m);
    expect(text).toMatch(/^pushgate_pushes_total\{/m);
  });
});

describe('Gorush sync mode from the configuration (gorush.sync = true)', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), { PUSHGATE_GORUSH_SYNC: 'true' });

  it('every answer waits for the outcomes and lists the failures; ?sync=false answers at once, without them', async () => {
    const body = { notifications: [{ tokens: ['sim-Unregistered-1', 'ok-1'], platform: 1, message: 'hi' }] };
    const synced = await gw.http.post('/api/push').send(body).expect(200);
    expect(synced.body).toEqual({
      counts: 2,
      logs: [{ type: 'failed-push', platform: 'ios', token: 'sim-Unregistered-1', message: 'hi', error: 'Unregistered' }],
      success: 'ok',
    });

    // Answered before the push ends: its failure is not listed.
    const immediate = await gw.http.post('/api/push?sync=false').send(body).expect(200);
    expect(immediate.body).toEqual({ counts: 2, logs: [], success: 'ok' });
  });
});

describe('/api/push and API keys scoped to apps', () => {
  let sim: Simulator;
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), scopedKeysEnv);

  it("a scoped key is held to its apps there as on /push: Gorush's requests go to the default app", async () => {
    const body = { notifications: [{ tokens: ['t'], platform: 1, message: 'hi' }] };
    const refused = await gw.http.post('/api/push').set('Authorization', 'Bearer brand-b-key').send(body).expect(403);
    expect((refused.body as { message: string }).message).toBe('this API key may not push to app "default"');
    await gw.http.post('/api/push').set('Authorization', 'Bearer admin-key').send(body).expect(200);
    await sim.waitFor(1, 5000);
    expect(sim.records().map((r) => r.token)).toEqual(['t']);
  });
});
