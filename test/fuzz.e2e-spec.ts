import fc from 'fast-check';
import { LOGGED_FIELDS } from '../src/push/push.log';
import { type Gateway, simulatedGatewayForSuite } from './support/gateway';

interface Answer {
  status: number;
  body: { message?: unknown; count?: unknown };
}

/** Values of every JSON type, including the awkward ones: huge numbers, unicode, prototype keys. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, '', '__proto__', 'constructor', 1e308, -1, 0, 1, 2, 3, 1.5, true, false, [], {}, '\u0000', 'x'.repeat(5000)),
);

/** A notification's keys (every field the journal keeps, and the two it keeps apart), and a few no notification has. */
const key = fc.constantFrom('token', 'platform', ...LOGGED_FIELDS, '__proto__', 'constructor', 'colour');

/** A valid notification with some fields replaced, added or removed. */
const mutatedNotification = fc
  .tuple(
    fc.record({
      token: fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }),
      platform: fc.constantFrom(1, 2),
      message: fc.string({ minLength: 1, maxLength: 50 }),
    }),
    fc.array(fc.tuple(key, anyValue), { maxLength: 4 }),
    fc.array(key, { maxLength: 2 }),
  )
  .map(([base, changes, removed]) => {
    const n: Record<string, unknown> = { ...base };
    for (const [k, v] of changes) Object.defineProperty(n, k, { value: v, enumerable: true, configurable: true, writable: true });
    for (const k of removed) delete n[k];
    return n;
  });

const pushBody = fc.oneof(
  fc.record({ notifications: fc.array(mutatedNotification, { maxLength: 4 }) }).map((b) => JSON.stringify(b)),
  fc.record({ notifications: anyValue }).map((b) => JSON.stringify(b)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', ' ', '{', '[', 'null', '"x"', '{"notifications":[]}', '{"notifications":null}', '\u0000', '[[[[[]]]]]'),
  fc
    .integer({ min: 0, max: 200 })
    .map((d) => `{"notifications":[{"token":["t"],"platform":1,"message":"m","extend":${'['.repeat(d)}${']'.repeat(d)}}]}`),
);

describe('bad input never breaks the gateway (property-based)', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), {
    PUSHGATE_CORE_QUEUES: '100000',
    PUSHGATE_CORE_BODY_LIMIT: '65536',
    PUSHGATE_CORE_WORKERS: '2',
  });

  async function accepted(): Promise<number> {
    return ((await gw.http.get('/stat/app').expect(200)).body as { accepted: number }).accepted;
  }

  function checkAnswer(res: Answer): void {
    expect(res.status).toBeLessThan(500);
    if (res.status !== 200) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(typeof res.body.message).toBe('string');
      expect((res.body.message as string).length).toBeGreaterThan(0);
    }
  }

  it('POST /push: never a 5xx; every rejection a 4xx naming the problem; rejected requests queue nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        pushBody,
        fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (body, type) => {
          const before = await accepted();
          const req = gw.http.post('/push');
          if (type) req.set('content-type', type);
          const res = (await req.send(body)) as unknown as Answer;
          checkAnswer(res);
          const after = await accepted();
          expect(after - before).toBe(res.status === 200 ? res.body.count : 0);
        },
      ),
      { numRuns: 400 },
    );
    await gw.http.get('/health/live').expect(200);
  });

  it('PUT /config/pushers: never a 5xx; malformed values are 400 and change nothing', async () => {
    const max = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer().map(String),
      fc.double().map(String),
      fc.constantFrom('', '-1', '1e3', '0x10', ' 5', '99999999999'),
    );
    await fc.assert(
      fc.asyncProperty(max, fc.option(pushBody, { nil: undefined }), async (value, body) => {
        const before = ((await gw.http.get('/stat/app')).body as { pusher_max: number }).pusher_max;
        const req = gw.http.put(`/config/pushers?max=${encodeURIComponent(value)}`);
        const res = (await (body === undefined ? req : req.send(body))) as unknown as Answer;
        checkAnswer(res);
        const now = ((await gw.http.get('/stat/app')).body as { pusher_max: number }).pusher_max;
        if (res.status !== 200) expect(now).toBe(before);
        // /stat/app reports core.pusher_max x core.workers (2), as Gaurun did.
        else expect(now).toBe(Number(value) * 2);
      }),
      { numRuns: 150 },
    );
    await gw.http.put('/config/pushers?max=255').expect(200);
  });
});
