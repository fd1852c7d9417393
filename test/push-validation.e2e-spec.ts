import { Simulator } from '../src/simulator/simulator';
import { android, ios, readLog, startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

describe('POST /push rejects bad input with 400 and changes nothing', () => {
  let sim: Simulator, gw: Gateway;
  simulatedGatewayForSuite((started) => ({ sim, gw } = started), {
    PUSHGATE_CORE_NOTIFICATION_MAX: '3',
    PUSHGATE_CORE_TOKEN_MAX: '2',
    PUSHGATE_CORE_BODY_LIMIT: '8192',
  });

  afterEach(async () => {
    const stats = (await gw.http.get('/stat/app').expect(200)).body as { accepted: number; queue_usage: number };
    expect(stats.accepted).toBe(0);
    expect(stats.queue_usage).toBe(0);
    expect(sim.counts().apns.total + sim.counts().fcm.total).toBe(0);
    expect(readLog(gw.accessLog).filter((l) => l.type === 'accepted-push')).toEqual([]);
  });

  const post = (body: string | object, contentType = 'application/json') =>
    gw.http
      .post('/push')
      .set('Content-Type', contentType)
      .send(typeof body === 'string' ? body : JSON.stringify(body));

  it('empty body: Gaurun message', async () => {
    await post('')
      .expect(400)
      .expect((res) => expect(res.body).toEqual({ message: 'request body is empty', request_id: res.headers['x-request-id'] }));
  });

  it('malformed JSON, and JSON that is not an object: Gaurun message', async () => {
    await post('{"notifications": [')
      .expect(400)
      .expect((res) => expect(res.body).toEqual({ message: 'Request-body is malformed', request_id: res.headers['x-request-id'] }));
    await post('[1,2]')
      .expect(400)
      .expect((res) => expect(res.body).toEqual({ message: 'Request-body is malformed', request_id: res.headers['x-request-id'] }));
    await post('"x"')
      .expect(400)
      .expect((res) => expect(res.body).toEqual({ message: 'Request-body is malformed', request_id: res.headers['x-request-id'] }));
  });

  it('missing or empty notifications: Gaurun message', async () => {
    await post({})
      .expect(400)
      .expect((res) => expect(res.body.message).toBe('empty notification'));
    await post({ notifications: [] })
      .expect(400)
      .expect((res) => expect(res.body.message).toBe('empty notification'));
  });

  it('too many notifications: Gaurun message with the configured limit', async () => {
    const n = ios(['t']);
    await post({ notifications: [n, n, n, n] })
      .expect(400)
      .expect((res) =>
        expect(res.body).toEqual({ message: 'number of notifications(4) over limit(3)', request_id: res.headers['x-request-id'] }),
      );
  });

  it('lists every problem with its path; an unknown field adds none (it is ignored, as Gaurun ignored it)', async () => {
    const res = await post({
      notifications: [
        ios(['ok']),
        { token: ['a'], platform: 3, message: 'x' },
        { token: 'not-an-array', platform: 2, message: 5, colour: 'red' },
      ],
    }).expect(400);
    const errors = res.body.errors as string[];
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^notifications\[1\]\.platform: /),
        expect.stringMatching(/^notifications\[2\]\.token: /),
        expect.stringMatching(/^notifications\[2\]\.message: /),
      ]),
    );
    expect(errors.filter((e) => e.includes('colour'))).toEqual([]);
    expect(res.body.message).toContain(errors[0]);
  });

  it('arrays or scalars where objects belong', async () => {
    const res = await post({ notifications: [[], 5, ios(['a'], { extend: [[{ key: 'k', val: 'v' }], 'x'] })] }).expect(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        'notifications: each notification must be an object',
        expect.stringMatching(/^notifications\[2\]\.extend: extend must be an array of/),
      ]),
    );
  });

  it('an unknown top-level field beside a bad notification: only the real problem is named', async () => {
    const res = await post({ notifications: [ios(['a'], { badge: -1 })], extra: 1 }).expect(400);
    expect(res.body.errors).toEqual(['notifications[0].badge: badge must not be less than 0']);
  });

  it('bad optional fields name their path', async () => {
    const res = await post({
      notifications: [
        ios(['a'], { badge: -1, push_type: 'loud', expiry: 'soon', extend: [{ key: 'k' }] }),
        android(['b'], { priority: 'urgent', time_to_live: 2419201 }),
      ],
    }).expect(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^notifications\[0\]\.badge: /),
        expect.stringMatching(/^notifications\[0\]\.push_type: /),
        expect.stringMatching(/^notifications\[0\]\.expiry: /),
        expect.stringMatching(/^notifications\[0\]\.extend\[0\]\.val: /),
        expect.stringMatching(/^notifications\[1\]\.priority: /),
        expect.stringMatching(/^notifications\[1\]\.time_to_live: /),
      ]),
    );
  });

  it('configuration limits: tokens per notification, empty message, APNs payload size', async () => {
    const res = await post({
      notifications: [
        ios(['a', 'b', 'c']),
        android(['d'], { message: '' }),
        ios(['e'], {
          extend: [
            { key: 'big', val: 'x'.repeat(4000) },
            { key: 'big2', val: 'y'.repeat(200) },
          ],
        }),
      ],
    }).expect(400);
    expect(res.body.errors).toEqual([
      'notifications[0].token: 3 tokens over limit(2)',
      'notifications[1].message: empty message (core.allows_empty_message is false)',
      expect.stringMatching(/^notifications\[2\]: APNs payload is \d+ bytes, over the 4096-byte limit$/),
    ]);
  });

  it('body over core.body_limit: 413', async () => {
    await post({ notifications: [ios(['a'], { message: 'x'.repeat(9000) })] }).expect(413);
  });
});

describe('POST /push reads JSON whatever the Content-Type says, as Gaurun did', () => {
  it('accepts a JSON body sent as a form, or with no Content-Type', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim);
    try {
      const body = JSON.stringify({ notifications: [ios(['form-1'])] });
      await gw.http.post('/push').set('Content-Type', 'application/x-www-form-urlencoded').send(body).expect(200);
      await gw.http.post('/push').set('Content-Type', '').send(body).expect(200);
      // UTF-8 with a byte order mark, as some Windows clients write it; a message outside ASCII arrives whole.
      const unicode = JSON.stringify({ notifications: [{ ...ios(['form-2']), message: 'grüße 🚀' }] });
      await gw.http.post('/push').set('Content-Type', 'application/json').send(`\ufeff${unicode}`).expect(200);
      await sim.waitFor(3, 5000);
      expect(sim.records().find((r) => r.token === 'form-2')?.payload).toMatchObject({ aps: { alert: 'grüße 🚀' } });
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});

describe('PUT /config/pushers', () => {
  it('changes the concurrency; rejects malformed values', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim, { PUSHGATE_CORE_WORKERS: '2' });
    try {
      await gw.http.put('/config/pushers?max=7').expect(200, { message: 'ok' });
      const stats = (await gw.http.get('/stat/app')).body;
      // Gaurun's figure: core.pusher_max x core.workers.
      expect(stats.pusher_max).toBe(14);
      expect(stats.concurrency).toBe(16);
      for (const bad of ['', '?max=', '?max=-1', '?max=abc', '?max=1.5']) {
        const res = await gw.http.put(`/config/pushers${bad}`).expect(400);
        expect(res.body).toEqual({ message: 'malformed value', request_id: expect.any(String) });
      }
      expect((await gw.http.get('/stat/app')).body.pusher_max).toBe(14);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
