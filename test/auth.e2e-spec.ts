import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../src/auth/auth.keys';
import { applyServerTimeouts } from '../src/http/server-timeouts';
import { Simulator } from '../src/simulator/simulator';
import { android, eventually, ios, startGateway, type Gateway, simulatedGatewayForSuite } from './support/gateway';

const KEY_A = 'pg-key-a-1f0c9e7d4b2a6c8e';
const KEY_B = 'pg-key-b-93d1a7c5e2f4b608';
const KEY_FILE_1 = 'pg-file-key-1-5a7c9e1b3d';
const KEY_FILE_2 = 'pg-file-key-2-0e2c4a6b8d';

function push(): Record<string, unknown> {
  return { notifications: [ios(['auth-ios']), android(['auth-android'])] };
}

describe('API keys', () => {
  let sim: Simulator;
  let gw: Gateway;
  let keyFile: string;
  let errorLog: string;

  beforeAll(async () => {
    sim = await Simulator.start();
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-auth-'));
    keyFile = join(dir, 'keys');
    errorLog = join(dir, 'error.log');
    writeFileSync(keyFile, `# current\n${KEY_FILE_1}\n\n`);
    gw = await startGateway(sim, {
      PUSHGATE_AUTH_API_KEYS: ` ${KEY_A}, ${KEY_B} `,
      PUSHGATE_AUTH_API_KEYS_PATH: keyFile,
      PUSHGATE_LOG_ERROR_LOG: errorLog,
      PUSHGATE_LOG_LEVEL: 'debug',
    });
  });
  afterAll(async () => {
    await gw.close();
    await sim.close();
  });

  it('refuses a request without a key with 401 and a Bearer challenge, before reading its body', async () => {
    const res = await gw.http.post('/push').send(push()).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="pushgate"');
    expect(res.body.message).toMatch(/missing API key/);
    // Far over core.body_limit: a body that was read would answer 413.
    const big = await gw.http
      .post('/push')
      .set('content-type', 'application/json')
      .send('x'.repeat(11 * 1024 * 1024))
      .expect(401);
    expect(big.headers['www-authenticate']).toBe('Bearer realm="pushgate"');
    await gw.http.put('/config/pushers?max=3').expect(401);
    await gw.http
      .post('/push')
      .set('authorization', `Basic ${Buffer.from(`u:${KEY_A}`).toString('base64')}`)
      .send(push())
      .expect(401);
  });

  it('refuses a wrong key with invalid_token, including one that differs only in length or case', async () => {
    for (const wrong of ['nope', KEY_A.slice(0, -1), `${KEY_A}x`, KEY_A.toUpperCase()]) {
      const res = await gw.http.post('/push').set('authorization', `Bearer ${wrong}`).send(push()).expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="pushgate", error="invalid_token"');
      expect(res.body).toEqual({ message: 'invalid API key', request_id: res.headers['x-request-id'] });
    }
  });

  it('accepts every configured key, from the environment and from the file; rejected requests queued nothing', async () => {
    expect((await gw.http.get('/stat/app').expect(200)).body.accepted).toBe(0);
    for (const key of [KEY_A, KEY_B, KEY_FILE_1]) {
      const res = await gw.http.post('/push').set('authorization', `bearer ${key}`).send(push()).expect(200);
      expect(res.body).toEqual(expect.objectContaining({ message: 'ok', count: 2 }));
    }
    await gw.http.put('/config/pushers?max=3').set('authorization', `Bearer ${KEY_A}`).expect(200);
    expect((await gw.http.get('/stat/app').expect(200)).body.accepted).toBe(6);
  });

  it('leaves the probes and, by default, the stats open', async () => {
    await gw.http.get('/health/live').expect(200);
    await gw.http.get('/health/ready').expect(200);
    await gw.http.get('/stat/app').expect(200);
    await gw.http.get('/stat/runtime').expect(200);
    await gw.http.get('/stat/go').expect(200);
  });

  it('picks up a rotated key file: the new key works, the removed one stops working', async () => {
    writeFileSync(keyFile, `${KEY_FILE_2}\n`);
    gw.app.get(ApiKeys).reload();
    await gw.http.post('/push').set('authorization', `Bearer ${KEY_FILE_2}`).send(push()).expect(200);
    await gw.http.post('/push').set('authorization', `Bearer ${KEY_FILE_1}`).send(push()).expect(401);
    // An emptied file keeps the keys read before rather than opening the gateway.
    writeFileSync(keyFile, '# nothing\n');
    gw.app.get(ApiKeys).reload();
    await gw.http.post('/push').set('authorization', `Bearer ${KEY_FILE_2}`).send(push()).expect(200);
    await gw.http.post('/push').send(push()).expect(401);
  });

  it('never writes a key into a log or a stats answer', async () => {
    await eventually(async () => (await gw.http.get('/stat/app')).body.ios.push_success >= 5);
    const stats = JSON.stringify((await gw.http.get('/stat/app')).body) + JSON.stringify((await gw.http.get('/stat/runtime')).body);
    const logs = readFileSync(gw.accessLog, 'utf8') + readFileSync(errorLog, 'utf8');
    expect(logs.length).toBeGreaterThan(0);
    for (const key of [KEY_A, KEY_B, KEY_FILE_1, KEY_FILE_2]) {
      expect(stats).not.toContain(key);
      expect(logs).not.toContain(key);
    }
  });
});

describe('API keys with protected stats and a rate limit', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), {
    PUSHGATE_AUTH_API_KEYS: `${KEY_A},${KEY_B}`,
    PUSHGATE_AUTH_PROTECT_STATS: 'true',
    PUSHGATE_AUTH_RATE_LIMIT: '3',
  });

  it('protects /stat/* but never the probes', async () => {
    await gw.http.get('/stat/app').expect(401);
    await gw.http.get('/stat/runtime').expect(401);
    await gw.http.get('/health/live').expect(200);
    await gw.http.get('/health/ready').expect(200);
    await gw.http.get('/stat/app').set('authorization', `Bearer ${KEY_B}`).expect(200);
  });

  it('answers 429 with Retry-After once a key passes its rate, and limits each key on its own', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await gw.http.post('/push').set('authorization', `Bearer ${KEY_A}`).send(push())).status);
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    const limited = await gw.http.post('/push').set('authorization', `Bearer ${KEY_A}`).send(push()).expect(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.body.message).toMatch(/rate limit/);
    await gw.http.post('/push').set('authorization', `Bearer ${KEY_B}`).send(push()).expect(200);
    // Probes are never limited.
    for (let i = 0; i < 5; i++) await gw.http.get('/health/live').expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await gw.http.post('/push').set('authorization', `Bearer ${KEY_A}`).send(push()).expect(200);
  });
});

describe('input limits', () => {
  let gw: Gateway;
  simulatedGatewayForSuite((started) => ({ gw } = started), {
    PUSHGATE_CORE_BODY_LIMIT: '4096',
    PUSHGATE_CORE_HEADER_TIMEOUT: '1',
    PUSHGATE_CORE_REQUEST_TIMEOUT: '2',
  });

  it('answers 413 over the body limit and 400 for a body that is not JSON, whatever the Content-Type', async () => {
    const big = await gw.http
      .post('/push')
      .send({ notifications: [ios(['x'], { message: 'm'.repeat(5000) })] })
      .expect(413);
    expect(big.body.message).toBe('request body over limit(4096 bytes)');
    await gw.http
      .post('/push')
      .set('content-type', 'text/plain')
      .send('{"notifications": [')
      .expect(400)
      .expect((res) => expect(res.body).toEqual({ message: 'Request-body is malformed', request_id: res.headers['x-request-id'] }));
    await gw.http.post('/push').set('content-type', 'application/x-www-form-urlencoded').send(JSON.stringify(push())).expect(200);
  });

  it('refuses JSON nested deeper than 32 levels with a 400 that says so', async () => {
    const deep = `{"notifications":[{"token":["t"],"platform":1,"message":"m","extend":[{"key":"k","val":${'['.repeat(40)}${']'.repeat(40)}}]}]}`;
    const res = await gw.http.post('/push').send(deep).expect(400);
    expect(res.body.message).toBe('Request-body is malformed: JSON nested deeper than 32 levels');
    // Brackets inside strings are not nesting.
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['t'], { message: '['.repeat(100) })] })
      .expect(200);
    const veryDeep = '['.repeat(100_000) + ']'.repeat(100_000);
    await gw.http.put('/config/pushers?max=2').set('content-type', 'application/json').send(veryDeep).expect(413);
  });

  it('closes a connection whose headers do not arrive within core.header_timeout with 408', async () => {
    const server = gw.app.getHttpServer() as Server;
    applyServerTimeouts(server, gw.config.core);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('POST /push HTTP/1.1\r\nHost: x\r\n'));
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        setTimeout(() => reject(new Error('the connection was not closed')), 8000).unref();
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
