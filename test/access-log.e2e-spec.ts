import { eventually, ios, readLog, scopedKeysEnv, simulatedGatewayForSuite, tempPath, type Gateway } from './support/gateway';

type Line = Record<string, unknown>;

/** The access log's request line of the request with this id, once written. */
async function requestLine(gw: Gateway, id: string): Promise<Line> {
  let found: Line | undefined;
  await eventually(() => {
    found = readLog(gw.accessLog).find((l) => l.type === 'request' && l.request_id === id);
    return found !== undefined;
  }, 10_000);
  return found!;
}

describe('one access-log line per HTTP request, and request_id in every refusal', () => {
  let gw: Gateway;
  const admin = { Authorization: 'Bearer admin-key' };
  simulatedGatewayForSuite(
    (started) => ({ gw } = started),
    (sim) => ({ ...scopedKeysEnv(sim), PUSHGATE_AUTH_PROTECT_STATS: 'true', PUSHGATE_CORE_BODY_LIMIT: '2048' }),
  );

  it('logs an accepted POST /push with its method, path, status, duration, request id and pushes', async () => {
    await gw.http
      .post('/push?wait=false')
      .set(admin)
      .set('X-Request-Id', 'line-push')
      .send({ notifications: [ios(['a', 'b']), ios(['c'])] })
      .expect(200);
    const line = await requestLine(gw, 'line-push');
    expect(line).toEqual(
      expect.objectContaining({ level: 'info', method: 'POST', path: '/push', status: 200, pushes: 3, request_id: 'line-push' }),
    );
    expect(line.duration_ms).toEqual(expect.any(Number));
    expect(line).not.toHaveProperty('req');
    expect(JSON.stringify(line)).not.toContain('admin-key');
    // The journal's lines of the same request carry the same id.
    const pushes = readLog(gw.accessLog).filter((l) => l.type === 'accepted-push' && l.request_id === 'line-push');
    expect(pushes).toHaveLength(3);
  });

  it('logs a GET with no pushes field and a refused request at warn', async () => {
    await gw.http.get('/stat/app').set(admin).set('X-Request-Id', 'line-stat').expect(200);
    expect(await requestLine(gw, 'line-stat')).toEqual(
      expect.objectContaining({ level: 'info', method: 'GET', path: '/stat/app', status: 200 }),
    );
    expect(await requestLine(gw, 'line-stat')).not.toHaveProperty('pushes');
    await gw.http
      .post('/push')
      .set('X-Request-Id', 'line-401')
      .send({ notifications: [ios(['x'])] })
      .expect(401);
    expect(await requestLine(gw, 'line-401')).toEqual(
      expect.objectContaining({ level: 'warn', method: 'POST', path: '/push', status: 401 }),
    );
  });

  it.each([
    ['GET /nowhere', 404, (h: Gateway['http']) => h.get('/nowhere').set(admin)],
    ['GET /push/{id} unknown', 404, (h: Gateway['http']) => h.get('/push/never-issued').set(admin)],
    ['GET /stat/app without a key', 401, (h: Gateway['http']) => h.get('/stat/app')],
    ['GET /metrics without a key', 401, (h: Gateway['http']) => h.get('/metrics')],
    ['PUT /config/pushers malformed', 400, (h: Gateway['http']) => h.put('/config/pushers?max=x').set(admin)],
    [
      'PUT /config/pushers by an app key',
      403,
      (h: Gateway['http']) => h.put('/config/pushers?max=3').set('Authorization', 'Bearer brand-b-key'),
    ],
    ['POST /api/push without notifications', 400, (h: Gateway['http']) => h.post('/api/push').set(admin).send({})],
    [
      'POST /api/push over the body limit',
      413,
      (h: Gateway['http']) =>
        h
          .post('/api/push')
          .set(admin)
          .send({ pad: 'p'.repeat(4096) }),
    ],
    ['GET /docs-json without a key', 401, (h: Gateway['http']) => h.get('/docs-json')],
  ])('%s answers %s with request_id in the body and a warn line', async (what, status, send) => {
    const id = `refused-${what.replace(/[^A-Za-z0-9]+/g, '-')}`;
    const res = await send(gw.http).set('X-Request-Id', id);
    expect(res.status).toBe(status);
    expect(res.headers['x-request-id']).toBe(id);
    expect(res.body).toEqual(expect.objectContaining({ request_id: id }));
    expect(await requestLine(gw, id)).toEqual(expect.objectContaining({ level: 'warn', status }));
  });
});

describe('the request line of a 5xx', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), { PUSHGATE_CORE_QUEUES: '2' });

  it('is written at error with the pushes refused, and no error made up from the status', async () => {
    const res = await gw.http
      .post('/push')
      .set('X-Request-Id', 'line-503')
      .send({ notifications: [ios(['f1', 'f2', 'f3'])] });
    expect(res.status).toBe(503);
    expect(res.body).toEqual(expect.objectContaining({ request_id: 'line-503' }));
    const line = await requestLine(gw, 'line-503');
    expect(line).toEqual(expect.objectContaining({ level: 'error', method: 'POST', path: '/push', status: 503, pushes: 3 }));
    expect(line).not.toHaveProperty('error');
  });
});

describe('the request line in log.format = "gaurun"', () => {
  let gw: Gateway;
  const errorLog = tempPath('error.log');
  simulatedGatewayForSuite((started) => ({ gw } = started), {
    PUSHGATE_LOG_FORMAT: 'gaurun',
    PUSHGATE_LOG_ERROR_LOG: errorLog,
    PUSHGATE_LOG_LEVEL: 'info',
  });

  it("leaves the access log to Gaurun's lines and writes the request line to the error log in Gaurun's shape", async () => {
    await gw.http
      .post('/push')
      .set('X-Request-Id', 'gaurun-ok')
      .send({ notifications: [ios(['g1'])] })
      .expect(200);
    await gw.http.post('/push').set('X-Request-Id', 'gaurun-400').send({ notifications: [] }).expect(400);
    const lineOf = (id: string): Line | undefined => readLog(errorLog).find((l) => l.type === 'request' && l.request_id === id);
    await eventually(() => lineOf('gaurun-ok') !== undefined && lineOf('gaurun-400') !== undefined, 10_000);
    expect(lineOf('gaurun-ok')).toEqual(expect.objectContaining({ level: 'info', method: 'POST', path: '/push', status: 200, pushes: 1 }));
    expect(lineOf('gaurun-ok')!.time).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} /);
    // Gaurun logged its refusals at error.
    expect(lineOf('gaurun-400')).toEqual(expect.objectContaining({ level: 'error', status: 400, pushes: 0 }));
    await eventually(() => readLog(gw.accessLog).some((l) => l.type === 'succeeded-push'), 10_000);
    expect(new Set(readLog(gw.accessLog).map((l) => l.type))).toEqual(new Set(['accepted-request', 'accepted-push', 'succeeded-push']));
  });
});
