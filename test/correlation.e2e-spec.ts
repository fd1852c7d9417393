import { android, eventually, ios, readLog, scopedKeysEnv, simulatedGatewayForSuite, type Gateway } from './support/gateway';

/** A generated request id: the boot id, then a sequence number. */
const GENERATED = /^[A-Za-z0-9_-]{8}-r[0-9a-z]+$/;

describe('request correlation: X-Request-Id on every answer of POST /push, in its body and its journal lines', () => {
  let gw: Gateway;
  const admin = { Authorization: 'Bearer admin-key' };
  simulatedGatewayForSuite(
    (started) => ({ gw } = started),
    (sim) => ({ ...scopedKeysEnv(sim), PUSHGATE_CORE_QUEUES: '4', PUSHGATE_CORE_BODY_LIMIT: '2048' }),
  );

  it("takes the client's id, answers with it in the header and the body, and writes it on every line of its pushes", async () => {
    const res = await gw.http
      .post('/push')
      .set(admin)
      .set('X-Request-Id', 'checkout-4711')
      .send({ notifications: [ios(['corr-ios']), android(['corr-android'])] })
      .expect(200);
    expect(res.headers['x-request-id']).toBe('checkout-4711');
    expect(res.body).toEqual({ message: 'ok', count: 2, request_id: 'checkout-4711' });
    await eventually(() => readLog(gw.accessLog).filter((l) => l.type === 'succeeded-push').length === 2, 10_000);
    const lines = readLog(gw.accessLog).filter((l) => typeof l.type === 'string' && l.type.endsWith('-push'));
    expect(lines.map((l) => [l.type, l.request_id])).toEqual([
      ['accepted-push', 'checkout-4711'],
      ['accepted-push', 'checkout-4711'],
      ['succeeded-push', 'checkout-4711'],
      ['succeeded-push', 'checkout-4711'],
    ]);
    await gw.http.get('/push/checkout-4711').set(admin).expect(200);
  });

  it('generates an id when the client sends none, unique per request, on every route', async () => {
    const a = await gw.http
      .post('/push')
      .set(admin)
      .send({ notifications: [ios(['gen-a'])] })
      .expect(200);
    const b = await gw.http
      .post('/push')
      .set(admin)
      .send({ notifications: [ios(['gen-b'])] })
      .expect(200);
    expect(a.headers['x-request-id']).toMatch(GENERATED);
    expect(a.body.request_id).toBe(a.headers['x-request-id']);
    expect(b.body.request_id).not.toBe(a.body.request_id);
    const health = await gw.http.get('/health/live').set('X-Request-Id', 'probe-1').expect(200);
    expect(health.headers['x-request-id']).toBe('probe-1');
  });

  it('keeps only safe characters of a client id and at most 128 of them; an id with none left is replaced', async () => {
    const dirty = await gw.http
      .post('/push')
      .set(admin)
      .set('X-Request-Id', 'a b"c<d>{e}/f\\g;h')
      .send({ notifications: [ios(['dirty'])] });
    expect(dirty.status).toBe(200);
    expect(dirty.headers['x-request-id']).toBe('abcdefgh');
    expect(dirty.body.request_id).toBe('abcdefgh');
    const long = await gw.http
      .post('/push')
      .set(admin)
      .set('X-Request-Id', 'x'.repeat(300))
      .send({ notifications: [ios(['long'])] });
    expect(long.body.request_id).toBe('x'.repeat(128));
    const empty = await gw.http
      .post('/push')
      .set(admin)
      .set('X-Request-Id', '<>"')
      .send({ notifications: [ios(['none'])] });
    expect(empty.body.request_id).toMatch(GENERATED);
  });

  it.each([
    [
      400,
      'an invalid body',
      (r: Gateway['http']) =>
        r
          .post('/push')
          .set(admin)
          .send({ notifications: [{ token: ['t'], platform: 9 }] }),
    ],
    [401, 'no API key', (r: Gateway['http']) => r.post('/push').send({ notifications: [ios(['no-key'])] })],
    [
      403,
      'a key pushing outside its app',
      (r: Gateway['http']) =>
        r
          .post('/push')
          .set('Authorization', 'Bearer brand-b-key')
          .send({ notifications: [ios(['not-b'])] }),
    ],
    [
      413,
      'a body over core.body_limit',
      (r: Gateway['http']) =>
        r
          .post('/push')
          .set(admin)
          .send({ notifications: [ios(['big'], { message: 'm'.repeat(4096) })] }),
    ],
    [
      503,
      'a full queue',
      (r: Gateway['http']) =>
        r
          .post('/push')
          .set(admin)
          .send({ notifications: [ios(['q1', 'q2', 'q3', 'q4', 'q5'])] }),
    ],
  ])('answers %s (%s) with the request id in the header and the body', async (status, _why, send) => {
    const res = await send(gw.http).set('X-Request-Id', `refused-${status}`);
    expect(res.status).toBe(status);
    expect(res.headers['x-request-id']).toBe(`refused-${status}`);
    expect(res.body).toEqual(expect.objectContaining({ message: expect.any(String), request_id: `refused-${status}` }));
  });
});

describe('request correlation under a rate limit', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), { PUSHGATE_AUTH_API_KEYS: 'k', PUSHGATE_AUTH_RATE_LIMIT: '1' });

  it('answers 429 with the request id in the header and the body', async () => {
    let res = await gw.http
      .post('/push')
      .set('Authorization', 'Bearer k')
      .set('X-Request-Id', 'burst-0')
      .send({ notifications: [ios(['r'])] });
    for (let i = 1; res.status !== 429 && i < 20; i++) {
      res = await gw.http
        .post('/push')
        .set('Authorization', 'Bearer k')
        .set('X-Request-Id', `burst-${i}`)
        .send({ notifications: [ios(['r'])] });
    }
    expect(res.status).toBe(429);
    expect(res.headers['x-request-id']).toMatch(/^burst-\d+$/);
    expect(res.body.request_id).toBe(res.headers['x-request-id']);
  });
});
