import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { eventually, ios, simulatedGatewayForSuite, tempPath, withSimulatedGateway, type Gateway } from './support/gateway';

const KEY = 'pg-admin-key-4e8b2d6f0a';

async function listen(gw: Gateway): Promise<number> {
  const server = gw.app.getHttpServer() as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('administration without API keys', () => {
  let gw: Gateway;
  const errorLog = tempPath('error.log');
  simulatedGatewayForSuite((started) => ({ gw } = started), {
    PUSHGATE_LOG_ERROR_LOG: errorLog,
    PUSHGATE_LOG_LEVEL: 'warn',
    PUSHGATE_CORE_WORKERS: '1',
  });

  // The dead-letter routes exist with the Redis queue only: test/redis/redis-queue.e2e-spec.ts refuses them the same way.
  it('refuses configuration reload with 403 naming auth.api_keys', async () => {
    const answers = [await gw.http.post('/config/reload'), await gw.http.post('/config/reload').send({})];
    for (const res of answers) {
      expect(res.status).toBe(403);
      expect(res.body.message).toContain('auth.api_keys');
      expect(res.body.message).toContain('auth.anonymous_admin');
    }
  });

  // One worker: /stat/app's pusher_max (core.pusher_max x core.workers, as Gaurun reported it) is then the value set.
  it('still lets anyone push, read the stats and change the concurrency within core.pusher_max range', async () => {
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['admin-open'])] })
      .expect(200);
    await gw.http.get('/stat/app').expect(200);
    await gw.http.put('/config/pushers?max=100000').expect(200, { message: 'ok' });
    expect((await gw.http.get('/stat/app').expect(200)).body.pusher_max).toBe(100_000);
    for (const max of ['100001', '999999999']) {
      const res = await gw.http.put(`/config/pushers?max=${max}`).expect(400);
      expect(res.body).toEqual({ message: 'malformed value', request_id: expect.any(String) });
    }
    expect((await gw.http.get('/stat/app').expect(200)).body.pusher_max).toBe(100_000);
    await gw.http.put('/config/pushers?max=4').expect(200);
  });

  it('warns at start that there are no keys', async () => {
    await eventually(() => readFileSync(errorLog, 'utf8').includes('no API keys'));
    const line = readFileSync(errorLog, 'utf8')
      .split('\n')
      .find((l) => l.includes('no API keys'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn' });
    expect(line).toContain('answer 403');
  });
});

describe('administration opened explicitly with auth.anonymous_admin', () => {
  it('lets anonymous clients through to reload and dead letters', async () => {
    await withSimulatedGateway({ PUSHGATE_AUTH_ANONYMOUS_ADMIN: 'true' }, async ({ gw }) => {
      // Past the guard: the in-memory queue has no dead letters (404), and the process's own configuration
      // (no file, embedded simulator) differs from this test's, so the reload is refused on its merits (400).
      await gw.http.get('/queue/dead-letters').expect(404);
      const reload = await gw.http.post('/config/reload').expect(400);
      expect(reload.body.message).toMatch(/^configuration not reloaded/);
    });
  });
});

describe('with API keys', () => {
  let gw: Gateway;
  simulatedGatewayForSuite(
    (started) => ({ gw } = started),
    {
      PUSHGATE_AUTH_API_KEYS: KEY,
      PUSHGATE_AUTH_PROTECT_STATS: 'true',
      PUSHGATE_AUTH_RATE_LIMIT: '1000',
      PUSHGATE_CORE_QUEUES: '10',
      PUSHGATE_CORE_WORKERS: '1',
      PUSHGATE_CORE_PUSHER_MAX: '0',
    },
    { simulator: { latencyMs: 3000 } },
  );

  it('needs a key for the API description', async () => {
    for (const path of ['/docs', '/docs/', '/docs-json', '/docs-yaml']) {
      const res = await gw.http.get(path).expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="pushgate"');
      expect(res.body).toEqual({ message: 'missing API key: send Authorization: Bearer <key>', request_id: expect.any(String) });
      expect(res.text).not.toContain('openapi');
    }
    await gw.http.get('/docs-json').set('authorization', 'Bearer nope').expect(401);
    const json = await gw.http.get('/docs-json').set('authorization', `Bearer ${KEY}`).expect(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect((await gw.http.get('/docs-yaml').set('authorization', `Bearer ${KEY}`).expect(200)).text).toMatch(/^openapi:/m);
    expect((await gw.http.get('/docs/').set('authorization', `Bearer ${KEY}`).expect(200)).text).toContain('swagger');
  });

  it('with protect_stats, readiness tells anonymous callers its status only, whether up or down', async () => {
    const up = await gw.http.get('/health/ready').expect(200);
    expect(up.body).toEqual({ status: 'ok' });
    const detailed = await gw.http.get('/health/ready').set('authorization', `Bearer ${KEY}`).expect(200);
    expect(detailed.body.details.queue).toMatchObject({ status: 'up', max: 10 });
    // A wrong key is as good as none.
    expect((await gw.http.get('/health/ready').set('authorization', 'Bearer nope').expect(200)).body).toEqual({ status: 'ok' });

    // Ten pushes fill the queue past its high-water mark while the simulator takes 3 s per answer.
    const tokens = Array.from({ length: 10 }, (_, i) => `ready-${i}`);
    await gw.http
      .post('/push')
      .set('authorization', `Bearer ${KEY}`)
      .send({ notifications: [ios(tokens)] })
      .expect(200);
    const down = await gw.http.get('/health/ready').expect(503);
    expect(down.body).toEqual({ status: 'error', request_id: expect.any(String) });
    const downDetailed = await gw.http.get('/health/ready').set('authorization', `Bearer ${KEY}`).expect(503);
    expect(downDetailed.body.error.queue).toMatchObject({ status: 'down', max: 10 });
  });

  it('answers a declared Content-Length over core.body_limit with 413 at once and closes the connection', async () => {
    const port = await listen(gw);
    try {
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(
            `POST /push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{"notif`,
          ),
        );
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        setTimeout(() => reject(new Error(`the connection was not closed; received ${JSON.stringify(text)}`)), 5000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
      expect(answer).toMatch(/\{"message":"request body over limit\(10485760 bytes\)","request_id":"[^"]+"\}/);
      // core.request_timeout is 60 s: the answer did not wait for the body.
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await new Promise<void>((resolve) => (gw.app.getHttpServer() as Server).close(() => resolve()));
    }
  });
});

describe('wrong API keys', () => {
  it('are throttled per client address: 429 with Retry-After after auth.failed_key_limit a minute, even for the right key', async () => {
    const env = { PUSHGATE_AUTH_API_KEYS: KEY, PUSHGATE_AUTH_RATE_LIMIT: '1000', PUSHGATE_AUTH_FAILED_KEY_LIMIT: '5' };
    await withSimulatedGateway(env, async ({ gw }) => {
      // Missing keys are not guesses.
      for (let i = 0; i < 10; i++)
        await gw.http
          .post('/push')
          .send({ notifications: [ios(['t'])] })
          .expect(401);
      await gw.http
        .post('/push')
        .set('authorization', `Bearer ${KEY}`)
        .send({ notifications: [ios(['ok-before'])] })
        .expect(200);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++)
        statuses.push((await gw.http.put('/config/pushers?max=3').set('authorization', `Bearer guess-${i}`)).status);
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
      const limited = await gw.http
        .post('/push')
        .set('authorization', `Bearer ${KEY}`)
        .send({ notifications: [ios(['ok-after'])] })
        .expect(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.message).toMatch(/rate limit/);
      await gw.http.get('/docs-json').set('authorization', `Bearer ${KEY}`).expect(429);
      // Probes carry no key and are never limited.
      await gw.http.get('/health/live').expect(200);
    });
  });
});
