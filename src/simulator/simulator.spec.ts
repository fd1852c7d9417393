import { createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import http2, { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { cert } from 'firebase-admin/app';
import { waitFor } from '../../test/support/wait';
import { Simulator } from './simulator';
import { parseSimToken } from './simulator.state';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function h2(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let replyHeaders: IncomingHttpHeaders = {};
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      replyHeaders = h;
      status = Number(h[':status']);
    });
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve({ status, headers: replyHeaders, body: text }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

function connect(url: string, options: http2.SecureClientSessionOptions): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url, options);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

function providerToken(keyPem: string, kid: string, iss: string, iat = Math.floor(Date.now() / 1000)): string {
  const head = Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss, iat })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${claims}`), { key: keyPem, dsaEncoding: 'ieee-p1363' });
  return `${head}.${claims}.${signature.toString('base64url')}`;
}

/** Sends every connection to the simulator while TLS still verifies the requested host name. */
class SimulatorAgent extends https.Agent {
  constructor(
    private readonly target: URL,
    private readonly caPem: string,
  ) {
    super({ keepAlive: true, ca: caPem });
  }

  override createConnection(options: https.RequestOptions): Duplex {
    return tls.connect({
      ...(options as tls.ConnectionOptions),
      host: this.target.hostname,
      port: Number(this.target.port),
      servername: options.servername || options.host || undefined,
      ca: this.caPem,
      ALPNProtocols: ['http/1.1'],
    });
  }
}

function httpsRequest(agent: https.Agent, url: string, method: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function control(sim: Simulator, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${sim.controlUrl}${path}`, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PAYLOAD = JSON.stringify({ aps: { alert: 'hello' } });

describe('parseSimToken', () => {
  it('parses the behaviour tokens', () => {
    expect(parseSimToken('abcdef')).toBeUndefined();
    expect(parseSimToken('sim-hang-1')).toEqual({ kind: 'hang' });
    expect(parseSimToken('sim-slow250-1')).toEqual({ kind: 'slow', ms: 250 });
    expect(parseSimToken('sim-flaky2-Unregistered-1')).toEqual({ kind: 'fail', code: 'Unregistered', flaky: 2 });
    expect(parseSimToken('sim-BadDeviceToken-1')).toEqual({ kind: 'fail', code: 'BadDeviceToken', flaky: 0 });
    expect(parseSimToken('sim-QUOTA_EXCEEDED')).toEqual({ kind: 'fail', code: 'QUOTA_EXCEEDED', flaky: 0 });
  });
});

describe('Simulator', () => {
  let sim: Simulator;
  let apns: ClientHttp2Session;
  let apnsCert: ClientHttp2Session;
  let jwt: string;
  let tmp: string;

  const apnsHeaders = (token: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders => ({
    ':method': 'POST',
    ':path': `/3/device/${token}`,
    authorization: `bearer ${jwt}`,
    'apns-topic': sim.credentials.apns.topic,
    'apns-push-type': 'alert',
    ...extra,
  });
  const push = (token: string, extra: OutgoingHttpHeaders = {}, body: string | undefined = PAYLOAD): Promise<Reply> =>
    h2(apns, apnsHeaders(token, extra), body);

  beforeAll(async () => {
    sim = await Simulator.start({ controlPort: 0 });
    const { keyPem, keyId, teamId } = sim.credentials.apns;
    jwt = providerToken(keyPem, keyId, teamId);
    apns = await connect(sim.apnsUrl, { ca: sim.ca });
    apnsCert = await connect(sim.apnsUrl, {
      ca: sim.ca,
      cert: sim.credentials.apns.certPem,
      key: sim.credentials.apns.certKeyPem,
      servername: 'api.push.apple.com',
    });
    tmp = mkdtempSync(join(tmpdir(), 'pushgate-sim-'));
  });

  afterAll(async () => {
    apns?.destroy();
    apnsCert?.destroy();
    await sim?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  beforeEach(() => {
    sim.latencyMs = 0;
    sim.reset();
  });

  describe('credentials', () => {
    it('issues a server certificate for every simulated host, signed by the CA', () => {
      const ca = new X509Certificate(sim.ca);
      expect(ca.ca).toBe(true);
      const tlsCert = (apns.socket as tls.TLSSocket).getPeerX509Certificate();
      expect(tlsCert).toBeDefined();
      expect(tlsCert!.verify(ca.publicKey)).toBe(true);
      for (const name of [
        'localhost',
        'api.push.apple.com',
        'api.sandbox.push.apple.com',
        'api.development.push.apple.com',
        'fcm.googleapis.com',
        'oauth2.googleapis.com',
      ]) {
        expect(tlsCert!.checkHost(name)).toBe(name);
      }
      expect(tlsCert!.checkIP('127.0.0.1')).toBe('127.0.0.1');
    });

    it('issues an APNs client certificate, token key and FCM service account', () => {
      const { apns: a, fcm } = sim.credentials;
      const client = new X509Certificate(a.certPem);
      expect(client.verify(new X509Certificate(sim.ca).publicKey)).toBe(true);
      expect(client.subject).toContain(`UID=${a.topic}`);
      expect(client.subject).toContain(`CN=Apple Push Services: ${a.topic}`);
      expect(a.topic).toBe('com.example.pushgate');
      const key = createPublicKey(a.keyPem);
      expect(key.asymmetricKeyType).toBe('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(a.keyPem).toContain('BEGIN PRIVATE KEY');
      expect(a.keyId).toMatch(/^[A-Z0-9]{10}$/);
      expect(a.teamId).toMatch(/^[A-Z0-9]{10}$/);
      expect(fcm.serviceAccount).toMatchObject({
        type: 'service_account',
        project_id: 'pushgate-sim',
        token_uri: 'https://oauth2.googleapis.com/token',
      });
      expect(fcm.serviceAccount.private_key).toContain('BEGIN PRIVATE KEY');
      expect(fcm.serviceAccount.client_email).toMatch(/@pushgate-sim\.iam\.gserviceaccount\.com$/);
      expect(fcm.serviceAccount.private_key_id).toBeTruthy();
      expect(fcm.serviceAccount.client_id).toMatch(/^\d+$/);
    });

    it('writes the credential files with mode 0600', () => {
      const files = sim.writeCredentials(join(tmp, 'creds'));
      expect(readFileSync(files.ca, 'utf8')).toBe(sim.ca);
      expect(readFileSync(files.apnsKey, 'utf8')).toBe(sim.credentials.apns.keyPem);
      expect(readFileSync(files.apnsCert, 'utf8')).toBe(sim.credentials.apns.certPem);
      expect(readFileSync(files.apnsCertKey, 'utf8')).toBe(sim.credentials.apns.certKeyPem);
      expect(JSON.parse(readFileSync(files.fcmServiceAccount, 'utf8'))).toEqual(sim.credentials.fcm.serviceAccount);
      expect(JSON.parse(readFileSync(files.apnsInfo, 'utf8'))).toEqual({
        keyId: sim.credentials.apns.keyId,
        teamId: sim.credentials.apns.teamId,
        topic: sim.credentials.apns.topic,
      });
      for (const path of Object.values(files)) expect(statSync(path).mode & 0o777).toBe(0o600);
    });
  });

  describe('APNs', () => {
    it('accepts a token-authenticated push and records it', async () => {
      const reply = await push('abc123', { 'apns-id': '11111111-2222-3333-4444-555555555555', 'apns-priority': '10' });
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('');
      expect(reply.headers['apns-id']).toBe('11111111-2222-3333-4444-555555555555');

      const generated = await push('abc123');
      expect(generated.headers['apns-id']).toMatch(/^[0-9a-f-]{36}$/);

      const records = sim.records();
      expect(records).toHaveLength(2);
      expect(records[0]).toMatchObject({
        platform: 'ios',
        token: 'abc123',
        status: 200,
        payload: { aps: { alert: 'hello' } },
        auth: { kind: 'jwt', keyId: sim.credentials.apns.keyId, teamId: sim.credentials.apns.teamId },
        attempt: 1,
      });
      expect(records[0].reason).toBeUndefined();
      expect(records[0].headers['apns-topic']).toBe('com.example.pushgate');
      expect(records[0].headers[':path']).toBeUndefined();
      expect(Math.abs(records[0].at - Date.now())).toBeLessThan(5000);
      expect(records[1].attempt).toBe(2);
      expect(sim.counts()).toEqual({
        apns: { total: 2, ok: 2, errors: {} },
        fcm: { total: 0, ok: 0, errors: {} },
        oauth: 0,
      });
    });

    it('accepts certificate auth without a JWT and ignores an authorization header', async () => {
      const ok = await h2(apnsCert, { ':method': 'POST', ':path': '/3/device/cert1' }, PAYLOAD);
      expect(ok.status).toBe(200);
      const ignored = await h2(
        apnsCert,
        { ':method': 'POST', ':path': '/3/device/cert2', authorization: 'bearer garbage', 'apns-topic': 'com.example.pushgate' },
        PAYLOAD,
      );
      expect(ignored.status).toBe(200);
      const voip = await h2(
        apnsCert,
        { ':method': 'POST', ':path': '/3/device/cert3', 'apns-topic': 'com.example.pushgate.voip', 'apns-push-type': 'voip' },
        PAYLOAD,
      );
      expect(voip.status).toBe(200);
      const wrongTopic = await h2(apnsCert, { ':method': 'POST', ':path': '/3/device/cert4', 'apns-topic': 'com.other.app' }, PAYLOAD);
      expect(wrongTopic.status).toBe(400);
      expect(JSON.parse(wrongTopic.body)).toEqual({ reason: 'BadTopic' });
      const auth = sim.records()[0].auth;
      expect(auth.kind).toBe('cert');
      expect(auth.kind === 'cert' && auth.subject).toContain('CN=Apple Push Services: com.example.pushgate');
    });

    it('rejects missing, invalid and expired provider tokens', async () => {
      const { keyPem, keyId, teamId } = sim.credentials.apns;
      const reason = async (authorization: string | undefined): Promise<[number, string]> => {
        const headers = apnsHeaders('t1');
        if (authorization === undefined) delete headers.authorization;
        else headers.authorization = authorization;
        const reply = await h2(apns, headers, PAYLOAD);
        return [reply.status, reply.body ? (JSON.parse(reply.body) as { reason: string }).reason : ''];
      };
      expect(await reason(undefined)).toEqual([403, 'MissingProviderToken']);
      expect(await reason('bearer not.a.jwt')).toEqual([403, 'InvalidProviderToken']);
      expect(await reason(`bearer ${providerToken(keyPem, 'WRONGKEYID', teamId)}`)).toEqual([403, 'InvalidProviderToken']);
      expect(await reason(`bearer ${providerToken(keyPem, keyId, 'WRONGTEAM0')}`)).toEqual([403, 'InvalidProviderToken']);
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const forged = providerToken(otherKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, keyId, teamId);
      expect(await reason(`bearer ${forged}`)).toEqual([403, 'InvalidProviderToken']);
      const old = providerToken(keyPem, keyId, teamId, Math.floor(Date.now() / 1000) - 3601);
      expect(await reason(`bearer ${old}`)).toEqual([403, 'ExpiredProviderToken']);
      expect(await reason(`Bearer ${jwt}`)).toEqual([200, '']);
    }, 10_000);

    it('reports an expired JWT even after it was verified and cached', async () => {
      const { keyPem, keyId, teamId } = sim.credentials.apns;
      const realNow = Date.now;
      const iat = Math.floor(realNow() / 1000) - 3500;
      const token = providerToken(keyPem, keyId, teamId, iat);
      const headers = { ...apnsHeaders('t2'), authorization: `bearer ${token}` };
      expect((await h2(apns, headers, PAYLOAD)).status).toBe(200);
      const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 200_000);
      try {
        const reply = await h2(apns, headers, PAYLOAD);
        expect(reply.status).toBe(403);
        expect(JSON.parse(reply.body)).toEqual({ reason: 'ExpiredProviderToken' });
      } finally {
        spy.mockRestore();
      }
    });

    it('validates path, method, headers and payload', async () => {
      const cases: [OutgoingHttpHeaders, string | undefined, number, string][] = [
        [{ ':path': '/3/other/abc' }, PAYLOAD, 404, 'BadPath'],
        [{ ':path': '/3/device/abc/extra' }, PAYLOAD, 404, 'BadPath'],
        [{ ':method': 'GET' }, undefined, 405, 'MethodNotAllowed'],
        [{ ':path': '/3/device/' }, PAYLOAD, 400, 'MissingDeviceToken'],
        [{ 'apns-topic': undefined }, PAYLOAD, 400, 'MissingTopic'],
        [{ 'apns-push-type': 'shout' }, PAYLOAD, 400, 'InvalidPushType'],
        [{ 'apns-priority': '7' }, PAYLOAD, 400, 'BadPriority'],
        [{ 'apns-expiration': 'soon' }, PAYLOAD, 400, 'BadExpirationDate'],
        [{ 'apns-collapse-id': 'x'.repeat(65) }, PAYLOAD, 400, 'BadCollapseId'],
        [{}, undefined, 400, 'PayloadEmpty'],
        [{}, '', 400, 'PayloadEmpty'],
        [{}, JSON.stringify({ aps: { alert: 'x'.repeat(4100) } }), 413, 'PayloadTooLarge'],
        [{}, '{"aps":', 400, 'InvalidPayload'],
        [{}, '[1]', 400, 'InvalidPayload'],
      ];
      for (const [extra, body, status, reason] of cases) {
        const headers = apnsHeaders('v1', extra);
        for (const key of Object.keys(headers)) if (headers[key] === undefined) delete headers[key];
        const reply = await h2(apns, headers, body);
        expect([reason, reply.status]).toEqual([reason, status]);
        expect(JSON.parse(reply.body)).toEqual({ reason });
        expect(reply.headers['apns-id']).toBeTruthy();
        expect(reply.headers['content-type']).toBe('application/json');
      }
      const voip = JSON.stringify({ aps: {}, v: 'x'.repeat(4500) });
      expect((await push('v2', { 'apns-push-type': 'voip' }, voip)).status).toBe(200);
      const counts = sim.counts().apns;
      expect(counts.total).toBe(cases.length + 1);
      expect(counts.errors).toMatchObject({ BadPath: 2, PayloadEmpty: 2, InvalidPayload: 2, MissingTopic: 1 });
      const bad = sim.records().find((r) => r.reason === 'InvalidPayload');
      expect(bad?.payload).toBe('{"aps":');
    });

    // Apple, "Sending notification requests to APNs" and "Pushing background updates to your app".
    it('holds topic, push type, priority and payload to the rules Apple documents', async () => {
      const contentOnly = JSON.stringify({ aps: { 'content-available': 1 } });
      const badge = JSON.stringify({ aps: { 'content-available': 1, badge: 1 } });
      const background = { 'apns-push-type': 'background', 'apns-priority': '5' };
      const cases: [OutgoingHttpHeaders, string, number, string | undefined][] = [
        [{ 'apns-topic': 'com.other.app' }, PAYLOAD, 400, 'TopicDisallowed'],
        [{ 'apns-topic': `${sim.credentials.apns.topic}.voip`, 'apns-push-type': 'voip' }, PAYLOAD, 200, undefined],
        [background, contentOnly, 200, undefined],
        [{ 'apns-push-type': 'background' }, contentOnly, 400, 'BadPriority'],
        [{ 'apns-push-type': 'background', 'apns-priority': '10' }, contentOnly, 400, 'BadPriority'],
        [background, PAYLOAD, 400, 'InvalidPushType'],
        [background, badge, 400, 'InvalidPushType'],
        [background, JSON.stringify({ aps: {} }), 400, 'InvalidPushType'],
        [{ 'apns-push-type': 'alert' }, contentOnly, 400, 'BadPriority'],
        [{ 'apns-push-type': 'alert', 'apns-priority': '5' }, contentOnly, 200, undefined],
        [{}, JSON.stringify({ aps: { alert: 'x', 'content-available': 1 } }), 200, undefined],
        [{}, JSON.stringify({ aps: 'x' }), 400, 'InvalidPayload'],
      ];
      for (const [extra, body, status, reason] of cases) {
        const reply = await push('rules', extra, body);
        expect([extra, body, reply.status]).toEqual([extra, body, status]);
        if (reason !== undefined) expect(JSON.parse(reply.body)).toEqual({ reason });
      }
    });

    // Apple, "Handling notification responses from APNs": an error answer carries the HTTP status and a JSON body
    // whose `reason` names the error; `timestamp` (ms since the epoch) is included only when the status is 410.
    const rejected = async (token: string, extra: OutgoingHttpHeaders = {}, body?: string): Promise<[number, unknown]> => {
      const reply = await push(token, extra, body);
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.headers['apns-id']).toBeTruthy();
      return [reply.status, JSON.parse(reply.body)];
    };

    it('a device token that is no longer active for the topic: 410 Unregistered, with the time APNs confirmed it', async () => {
      const before = Date.now();
      const [status, body] = await rejected('sim-Unregistered-abc');
      expect(status).toBe(410);
      expect(body).toEqual({ reason: 'Unregistered', timestamp: expect.any(Number) });
      const { timestamp } = body as { timestamp: number };
      expect(timestamp).toBeGreaterThanOrEqual(before);
      expect(timestamp).toBeLessThanOrEqual(Date.now());
    });

    it('an expired device token: 410 ExpiredToken, with a timestamp', async () => {
      const [status, body] = await rejected('sim-ExpiredToken-abc');
      expect(status).toBe(410);
      expect(body).toEqual({ reason: 'ExpiredToken', timestamp: expect.any(Number) });
    });

    // Apple's other reasons, by status: none carries a timestamp.
    const REASONS_BY_STATUS: Record<number, string[]> = {
      400: ['BadDeviceToken', 'DeviceTokenNotForTopic', 'TopicDisallowed'],
      403: ['BadCertificate', 'BadCertificateEnvironment', 'Forbidden', 'UnrelatedKeyIdInToken', 'BadEnvironmentKeyIdInToken'],
      429: ['TooManyRequests', 'TooManyProviderTokenUpdates'],
      500: ['InternalServerError'],
      503: ['ServiceUnavailable', 'Shutdown'],
    };
    it.each(Object.entries(REASONS_BY_STATUS).flatMap(([status, reasons]) => reasons.map((reason) => [Number(status), reason] as const)))(
      '%i %s, no timestamp, counted by its reason',
      async (status, reason) => {
        expect(await rejected(`sim-${reason}-abc`)).toEqual([status, { reason }]);
        expect(sim.counts().apns.errors).toEqual({ [reason]: 1 });
      },
    );

    it('asks for a retry after one second on 429 and 503, not on other errors', async () => {
      expect((await push('sim-TooManyRequests-abc')).headers['retry-after']).toBe('1');
      expect((await push('sim-Shutdown-abc')).headers['retry-after']).toBe('1');
      expect((await push('sim-InternalServerError-abc')).headers['retry-after']).toBeUndefined();
      expect((await push('sim-Unregistered-abc')).headers['retry-after']).toBeUndefined();
    });

    it('an apns-id that is not a canonical UUID: 400 BadMessageId', async () => {
      expect(await rejected('m1', { 'apns-id': 'not-a-uuid' })).toEqual([400, { reason: 'BadMessageId' }]);
      expect(await rejected('m2', { 'apns-id': '1111111122223333444455555555555' })).toEqual([400, { reason: 'BadMessageId' }]);
      expect((await push('m3', { 'apns-id': '123e4567-e89b-12d3-a456-426655440000' })).status).toBe(200);
    });

    it('a payload over 4096 bytes, or 5120 bytes for VoIP: 413 PayloadTooLarge; at the limit it is accepted', async () => {
      const sized = (bytes: number): string => {
        const head = '{"aps":{"alert":"';
        return `${head}${'x'.repeat(bytes - head.length - 3)}"}}`;
      };
      expect(Buffer.byteLength(sized(4096))).toBe(4096);
      expect((await push('p1', {}, sized(4096))).status).toBe(200);
      expect(await rejected('p2', {}, sized(4097))).toEqual([413, { reason: 'PayloadTooLarge' }]);
      expect((await push('p3', { 'apns-push-type': 'voip' }, sized(5120))).status).toBe(200);
      expect(await rejected('p4', { 'apns-push-type': 'voip' }, sized(5121))).toEqual([413, { reason: 'PayloadTooLarge' }]);
    });

    it('answers 200 to a sim- token naming no APNs reason', async () => {
      expect((await push('sim-NoSuchReason-abc')).status).toBe(200);
    });

    it('fails a sim-flaky token N times, then succeeds; reset() forgets attempts', async () => {
      const token = 'sim-flaky2-TooManyRequests-abc';
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await push(token)).status);
      expect(statuses).toEqual([429, 429, 200, 200]);
      expect(sim.records().map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
      expect((await push('sim-flaky2-TooManyRequests-other')).status).toBe(429);
      sim.reset();
      expect((await push(token)).status).toBe(429);
      expect(sim.records()[0].attempt).toBe(1);
    });

    it('delays sim-slow tokens and every answer while latencyMs is set', async () => {
      let started = Date.now();
      expect((await push('sim-slow200-abc')).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);

      sim.latencyMs = 150;
      started = Date.now();
      const replies = await Promise.all([push('lat1'), push('sim-Unregistered-lat'), push('lat3')]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(replies.map((r) => r.status)).toEqual([200, 410, 200]);
      sim.latencyMs = 0;
      started = Date.now();
      await push('lat4');
      expect(Date.now() - started).toBeLessThan(140);
    });

    it('never answers sim-hang tokens until the client cancels', async () => {
      const req = apns.request(apnsHeaders('sim-hang-abc'));
      req.end(PAYLOAD);
      let answered = false;
      req.on('response', () => (answered = true));
      req.on('error', () => undefined);
      // A hanging request is recorded as it arrives, once the simulator has decided not to answer it.
      await waitFor(() => sim.records().length === 1, { what: 'the hanging request recorded' });
      expect(answered).toBe(false);
      expect(sim.counts().apns.total).toBe(0);
      expect(sim.records()).toEqual([expect.objectContaining({ token: 'sim-hang-abc', status: 0, attempt: 1 })]);
      req.close(http2.constants.NGHTTP2_CANCEL);
      expect((await push('after-hang')).status).toBe(200);
    });
  });

  describe('FCM', () => {
    let agent: SimulatorAgent;
    let accessToken: string;
    let fcm: ClientHttp2Session;
    const project = 'pushgate-sim';

    const send = (body: unknown, token = accessToken, path = `/v1/projects/${project}/messages:send`): Promise<Reply> =>
      h2(
        fcm,
        {
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        typeof body === 'string' ? body : JSON.stringify(body),
      );
    const errorOf = (reply: Reply): { code: number; status: string; message: string; details?: { errorCode: string }[] } =>
      (JSON.parse(reply.body) as { error: { code: number; status: string; message: string; details?: { errorCode: string }[] } }).error;

    beforeAll(async () => {
      agent = new SimulatorAgent(new URL(sim.fcmUrl), sim.ca);
      const files = sim.writeCredentials(join(tmp, 'fcm'));
      const credential = cert(files.fcmServiceAccount, agent);
      // google-auth-library warns that firebase-admin passes `keyFilename`; that is the SDK's business.
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      const token = await credential.getAccessToken().finally(() => warn.mockRestore());
      accessToken = token.access_token;
      fcm = await connect(sim.fcmUrl, { ca: sim.ca, servername: 'fcm.googleapis.com' });
    });

    afterAll(() => {
      fcm?.destroy();
      agent?.destroy();
    });

    it('issued an OAuth token to firebase-admin through the agent', () => {
      expect(accessToken).toMatch(/^sim-/);
    });

    it('counts token requests and rejects bad assertions', async () => {
      const form = (assertion: string): string =>
        new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
      const url = 'https://oauth2.googleapis.com/token';
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const garbage = await httpsRequest(agent, url, 'POST', headers, form('a.b.c'));
      expect(garbage.status).toBe(400);
      expect(JSON.parse(garbage.body)).toMatchObject({ error: 'invalid_grant' });

      const sa = sim.credentials.fcm.serviceAccount;
      const assertion = (claims: Record<string, unknown>): string => {
        const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
        const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
        return `${head}.${body}.${sign('sha256', Buffer.from(`${head}.${body}`), sa.private_key).toString('base64url')}`;
      };
      const now = Math.floor(Date.now() / 1000);
      const good = { iss: sa.client_email, aud: url, iat: now, exp: now + 3600, scope: 'x' };
      const wrongIssuer = await httpsRequest(agent, url, 'POST', headers, form(assertion({ ...good, iss: 'x@y' })));
      expect(wrongIssuer.status).toBe(400);
      const ok = await httpsRequest(agent, url, 'POST', headers, form(assertion(good)));
      expect(ok.status).toBe(200);
      const issued = JSON.parse(ok.body) as Record<string, unknown>;
      expect(issued).toMatchObject({ expires_in: 3599, token_type: 'Bearer' });
      expect(issued.access_token).toMatch(/^sim-/);
      expect(sim.counts().oauth).toBe(3);
    });

    it('accepts a valid message over HTTP/2 and HTTP/1.1 and records it', async () => {
      const message = {
        token: 'device-1',
        data: { k: 'v' },
        notification: { title: 't', body: 'b' },
        android: { collapse_key: 'c', priority: 'high', ttl: '3.5s' },
      };
      const reply = await send({ message });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body).name).toMatch(/^projects\/pushgate-sim\/messages\/.+/);

      const h1 = await httpsRequest(
        agent,
        `https://fcm.googleapis.com/v1/projects/${project}/messages:send`,
        'POST',
        { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        JSON.stringify({ message: { topic: 'news' } }),
      );
      expect(h1.status).toBe(200);

      const validateOnly = await send({ message, validate_only: true });
      expect(JSON.parse(validateOnly.body)).toEqual({ name: 'projects/pushgate-sim/messages/fake_message_id' });

      const records = sim.records();
      expect(records).toHaveLength(3);
      expect(records[0]).toMatchObject({
        platform: 'android',
        token: 'device-1',
        status: 200,
        payload: message,
        auth: { kind: 'oauth', project },
        attempt: 1,
      });
      expect(records[0].headers.authorization).toBe(`Bearer ${accessToken}`);
      expect(records[1]).toMatchObject({ token: '', payload: { topic: 'news' } });
      expect(records[2].attempt).toBe(2);
      expect(sim.counts().fcm).toEqual({ total: 3, ok: 3, errors: {} });
    });

    it('rejects unknown access tokens and other projects', async () => {
      const missing = await send({ message: { token: 'a' } }, '');
      expect(missing.status).toBe(401);
      expect(errorOf(missing)).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
      expect((await send({ message: { token: 'a' } }, 'sim-forged')).status).toBe(401);
      const other = await send({ message: { token: 'a' } }, accessToken, '/v1/projects/other/messages:send');
      expect(other.status).toBe(403);
      expect(errorOf(other)).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
      expect(sim.counts().fcm).toEqual({ total: 3, ok: 0, errors: { UNAUTHENTICATED: 2, PERMISSION_DENIED: 1 } });
      expect(sim.records()[0].auth).toEqual({ kind: 'none' });
      const unrouted = await send({ message: { token: 'a' } }, accessToken, '/v1/projects/x/other');
      expect(unrouted.status).toBe(404);
      expect(sim.counts().fcm.total).toBe(3);
    });

    it('validates messages like FCM v1', async () => {
      const invalid: unknown[] = [
        '{"message":',
        [],
        { message: 'x' },
        { msg: { token: 'a' } },
        { message: { token: 'a' }, validate_only: 'yes' },
        { message: {} },
        { message: { token: '' } },
        { message: { token: 'a', topic: 'b' } },
        { message: { topic: 'b', condition: "'a' in topics" } },
        { message: { token: 'a', data: { n: 1 } } },
        { message: { token: 'a', data: ['x'] } },
        { message: { token: 'a', android: { priority: 'urgent' } } },
        { message: { token: 'a', android: { ttl: '10' } } },
        { message: { token: 'a', android: { ttl: 10 } } },
        { message: { token: 'a', android: { collapse_key: 3 } } },
        { message: { token: 'a', android: 'x' } },
        { message: { token: 'a', notification: 'x' } },
        { message: { token: 'a', badge: 1 } },
      ];
      for (const body of invalid) {
        const reply = await send(body);
        expect([body, reply.status]).toEqual([body, 400]);
        expect(errorOf(reply)).toEqual({
          code: 400,
          message: expect.any(String),
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }],
        });
      }
      const valid: unknown[] = [
        { message: { condition: "'a' in topics" } },
        { message: { token: 'a', android: { priority: 'NORMAL', ttl: '0.000000001s', collapseKey: 'k' } } },
        { message: { token: 'a', apns: { payload: { aps: {} } }, webpush: {}, fcm_options: { analytics_label: 'l' } } },
      ];
      for (const body of valid) expect([body, (await send(body)).status]).toEqual([body, 200]);
      expect(sim.counts().fcm.errors).toEqual({ INVALID_ARGUMENT: invalid.length });
    });

    // Google, FCM HTTP v1 "ErrorCode": each error comes with its HTTP status; the body is a google.rpc.Status whose
    // `status` is the canonical code for that HTTP status and whose details carry an FcmError with the error code.
    const fcmError = async (token: string): Promise<[number, unknown]> => {
      const reply = await send({ message: { token } });
      return [reply.status, errorOf(reply)];
    };
    const details = (errorCode: string): unknown[] => [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];

    it('an app instance unregistered from FCM: 404 NOT_FOUND, UNREGISTERED', async () => {
      expect(await fcmError('sim-UNREGISTERED-x')).toEqual([
        404,
        expect.objectContaining({ code: 404, status: 'NOT_FOUND', details: details('UNREGISTERED') }),
      ]);
      expect(sim.counts().fcm.errors).toEqual({ UNREGISTERED: 1 });
      expect(sim.records()[0]).toMatchObject({ status: 404, reason: 'UNREGISTERED', token: 'sim-UNREGISTERED-x' });
    });

    it('a registration token that is not valid: 400 INVALID_ARGUMENT', async () => {
      expect(await fcmError('sim-INVALID_ARGUMENT-x')).toEqual([
        400,
        expect.objectContaining({ code: 400, status: 'INVALID_ARGUMENT', details: details('INVALID_ARGUMENT') }),
      ]);
    });

    it('a sender that is not the one the token was registered for: 403 PERMISSION_DENIED, SENDER_ID_MISMATCH', async () => {
      expect(await fcmError('sim-SENDER_ID_MISMATCH-x')).toEqual([
        403,
        expect.objectContaining({ code: 403, status: 'PERMISSION_DENIED', details: details('SENDER_ID_MISMATCH') }),
      ]);
    });

    it('the sending limit for the target exceeded: 429 RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, with Retry-After', async () => {
      const reply = await send({ message: { token: 'sim-QUOTA_EXCEEDED-x' } });
      expect(reply.status).toBe(429);
      expect(errorOf(reply)).toEqual(
        expect.objectContaining({ code: 429, status: 'RESOURCE_EXHAUSTED', details: details('QUOTA_EXCEEDED') }),
      );
      expect(reply.headers['retry-after']).toBe('1');
    });

    it('the server overloaded: 503 UNAVAILABLE, with Retry-After', async () => {
      const reply = await send({ message: { token: 'sim-UNAVAILABLE-x' } });
      expect(reply.status).toBe(503);
      expect(errorOf(reply)).toEqual(expect.objectContaining({ code: 503, status: 'UNAVAILABLE', details: details('UNAVAILABLE') }));
      expect(reply.headers['retry-after']).toBe('1');
    });

    it('an unknown internal error: 500 INTERNAL', async () => {
      const reply = await send({ message: { token: 'sim-INTERNAL-x' } });
      expect(reply.status).toBe(500);
      expect(errorOf(reply)).toEqual(expect.objectContaining({ code: 500, status: 'INTERNAL', details: details('INTERNAL') }));
      expect(reply.headers['retry-after']).toBeUndefined();
    });

    it('an APNs certificate or web push auth key invalid or missing: 401 UNAUTHENTICATED, THIRD_PARTY_AUTH_ERROR', async () => {
      expect(await fcmError('sim-THIRD_PARTY_AUTH_ERROR-x')).toEqual([
        401,
        expect.objectContaining({ code: 401, status: 'UNAUTHENTICATED', details: details('THIRD_PARTY_AUTH_ERROR') }),
      ]);
    });

    it('a data key FCM reserves (from, message_type, google*, gcm*): 400 INVALID_ARGUMENT', async () => {
      for (const key of ['from', 'message_type', 'gcm', 'gcm.notification.title', 'google.sent_time']) {
        const reply = await send({ message: { token: 'a', data: { [key]: 'v' } } });
        expect([key, reply.status, errorOf(reply).status]).toEqual([key, 400, 'INVALID_ARGUMENT']);
      }
      expect((await send({ message: { token: 'a', data: { collapse_key: 'v', fromage: 'brie' } } })).status).toBe(200);
    });

    it('data over 4,096 bytes (compact JSON), in message.data or android.data: 400 INVALID_ARGUMENT', async () => {
      const data = (bytes: number): Record<string, string> => ({ k: 'x'.repeat(bytes - Buffer.byteLength('{"k":""}')) });
      expect((await send({ message: { token: 'a', data: data(4096) } })).status).toBe(200);
      const over = await send({ message: { token: 'a', data: data(4097) } });
      expect([over.status, errorOf(over).status]).toEqual([400, 'INVALID_ARGUMENT']);
      expect((await send({ message: { token: 'a', android: { data: data(4097) } } })).status).toBe(400);
    });

    it('a TTL outside 0 to 2,419,200 seconds (four weeks): 400 INVALID_ARGUMENT', async () => {
      const ttl = async (value: string): Promise<number> => (await send({ message: { token: 'a', android: { ttl: value } } })).status;
      expect(await ttl('2419200s')).toBe(200);
      expect(await ttl('0s')).toBe(200);
      expect(await ttl('2419201s')).toBe(400);
      expect(await ttl('2419200.5s')).toBe(400);
    });

    it('supports flaky, slow and hanging tokens and latency', async () => {
      const flaky = [];
      for (let i = 0; i < 3; i++) flaky.push((await send({ message: { token: 'sim-flaky1-UNAVAILABLE-x' } })).status);
      expect(flaky).toEqual([503, 200, 200]);

      let started = Date.now();
      expect((await send({ message: { token: 'sim-slow150-x' } })).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);

      sim.latencyMs = 120;
      started = Date.now();
      expect((await send({ message: { token: 'plain' } })).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      sim.latencyMs = 0;

      const req = fcm.request({
        ':method': 'POST',
        ':path': `/v1/projects/${project}/messages:send`,
        authorization: `Bearer ${accessToken}`,
      });
      req.on('error', () => undefined);
      let answered = false;
      req.on('response', () => (answered = true));
      req.end(JSON.stringify({ message: { token: 'sim-hang-x' } }));
      await waitFor(() => sim.records().at(-1)?.token === 'sim-hang-x', { what: 'the hanging request recorded' });
      expect(answered).toBe(false);
      expect(sim.records().at(-1)).toMatchObject({ token: 'sim-hang-x', status: 0 });
      req.close(http2.constants.NGHTTP2_CANCEL);
      expect(sim.counts().fcm.total).toBe(5);
    });
  });

  describe('waitFor', () => {
    it('resolves once enough requests were answered and rejects on timeout', async () => {
      await sim.waitFor(0, 10);
      const waiting = sim.waitFor(3, 2000);
      await Promise.all([push('w1'), push('w2'), push('sim-BadDeviceToken-w3')]);
      await expect(waiting).resolves.toBeUndefined();
      await expect(sim.waitFor(4, 50)).rejects.toThrow(/timed out/);
    });
  });

  describe('control API', () => {
    it('serves counts, records, latency, reset and the CA', async () => {
      await push('c1');
      await push('sim-Unregistered-c2');
      const counts = await control(sim, 'GET', '/counts');
      expect(JSON.parse(counts.body)).toEqual(sim.counts());
      expect(JSON.parse(counts.body).apns).toEqual({ total: 2, ok: 1, errors: { Unregistered: 1 } });

      const records = JSON.parse((await control(sim, 'GET', '/records?limit=1')).body) as { token: string }[];
      expect(records.map((r) => r.token)).toEqual(['sim-Unregistered-c2']);
      expect(JSON.parse((await control(sim, 'GET', '/records')).body)).toHaveLength(2);

      expect((await control(sim, 'POST', '/latency?ms=25')).status).toBe(200);
      expect(sim.latencyMs).toBe(25);
      expect(JSON.parse((await control(sim, 'GET', '/latency')).body)).toEqual({ latencyMs: 25 });
      expect((await control(sim, 'POST', '/latency?ms=-1')).status).toBe(400);
      expect((await control(sim, 'POST', '/latency')).status).toBe(400);

      const waited = control(sim, 'GET', '/wait?total=3&timeoutMs=2000');
      await push('c3');
      expect((await waited).status).toBe(200);
      expect((await control(sim, 'GET', '/wait?total=99&timeoutMs=20')).status).toBe(408);

      expect((await control(sim, 'POST', '/reset')).status).toBe(200);
      expect(sim.counts().apns.total).toBe(0);
      expect(sim.records()).toEqual([]);

      const ca = await control(sim, 'GET', '/ca');
      expect(ca.body).toBe(sim.ca);
      expect((await control(sim, 'GET', '/nope')).status).toBe(404);
    });
  });
});

describe('Simulator options and shutdown', () => {
  it('keeps only recordLimit records, oldest first, but counts everything', async () => {
    const sim = await Simulator.start({ recordLimit: 3, latencyMs: 0, topic: 'com.example.other' });
    const session = await connect(sim.apnsUrl, { ca: sim.ca });
    try {
      expect(sim.controlUrl).toBeUndefined();
      expect(sim.credentials.apns.topic).toBe('com.example.other');
      const { keyPem, keyId, teamId } = sim.credentials.apns;
      const token = providerToken(keyPem, keyId, teamId);
      for (let i = 1; i <= 5; i++) {
        await h2(
          session,
          { ':method': 'POST', ':path': `/3/device/r${i}`, authorization: `bearer ${token}`, 'apns-topic': 'com.example.other' },
          PAYLOAD,
        );
      }
      expect(sim.records().map((r) => r.token)).toEqual(['r3', 'r4', 'r5']);
      expect(sim.counts().apns.total).toBe(5);
      await h2(session, { ':method': 'POST', ':path': '/3/device/r6', authorization: `bearer ${token}`, 'apns-topic': 'x' }, PAYLOAD);
      expect(sim.records().map((r) => r.token)).toEqual(['r4', 'r5', 'r6']);
    } finally {
      session.destroy();
      await sim.close();
    }
  });

  it('honours a start-up latency and closes promptly with requests in flight', async () => {
    const sim = await Simulator.start({ latencyMs: 100 });
    expect(sim.latencyMs).toBe(100);
    const session = await connect(sim.apnsUrl, { ca: sim.ca });
    session.on('error', () => undefined);
    const { keyPem, keyId, teamId } = sim.credentials.apns;
    const headers = {
      ':method': 'POST',
      authorization: `bearer ${providerToken(keyPem, keyId, teamId)}`,
      'apns-topic': 'com.example.pushgate',
    };
    const slow = h2(session, { ...headers, ':path': '/3/device/sim-slow60000-1' }, PAYLOAD).catch((e: Error) => e);
    const hang = h2(session, { ...headers, ':path': '/3/device/sim-hang-1' }, PAYLOAD).catch((e: Error) => e);
    const waiting = sim.waitFor(10, 60_000).catch((e: Error) => e);
    // Streams of one connection arrive in order: once the hanging one is recorded, both are at the simulator.
    await waitFor(() => sim.records().some((r) => r.token === 'sim-hang-1'), { what: 'the requests at the simulator' });
    const started = Date.now();
    await sim.close();
    await Promise.all([hang, slow]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await waiting).toBeInstanceOf(Error);
    await sim.close();
    session.destroy();
  });
});

describe('Simulator faults', () => {
  let sim: Simulator;
  let jwt: string;
  const open: ClientHttp2Session[] = [];

  const session = async (): Promise<ClientHttp2Session> => {
    const s = await connect(sim.apnsUrl, { ca: sim.ca, servername: 'api.sandbox.push.apple.com' });
    s.on('error', () => undefined);
    open.push(s);
    // The client can see the server's SETTINGS before the server has emitted its 'session' event; a PING answered
    // comes after it.
    await new Promise<void>((resolve, reject) => s.ping((error) => (error ? reject(error) : resolve())));
    return s;
  };
  const headers = (token: string, bearer = jwt): OutgoingHttpHeaders => ({
    ':method': 'POST',
    ':path': `/3/device/${token}`,
    authorization: `bearer ${bearer}`,
    'apns-topic': sim.credentials.apns.topic,
  });
  const reasonOf = (reply: Reply): string | undefined => (reply.body ? (JSON.parse(reply.body) as { reason: string }).reason : undefined);

  beforeAll(async () => {
    sim = await Simulator.start({ controlPort: 0 });
    const { keyPem, keyId, teamId } = sim.credentials.apns;
    jwt = providerToken(keyPem, keyId, teamId);
  });
  afterEach(() => {
    sim.clearFaults();
    sim.latencyMs = 0;
    for (const s of open.splice(0)) s.destroy();
  });
  afterAll(async () => {
    await sim.close();
  });

  it('goaway() refuses the streams in flight and closes the connection', async () => {
    const s = await session();
    const stream = s.request(headers('sim-hang-goaway'));
    stream.on('error', () => undefined);
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.resume();
    stream.end(PAYLOAD);
    const inFlight = new Promise<number>((resolve) => stream.on('close', () => resolve(status)));
    await waitFor(() => sim.records().some((r) => r.token === 'sim-hang-goaway'), { what: 'the request at the simulator' });
    expect(sim.goaway('apns')).toBe(1);
    expect(await inFlight).toBe(0);
    if (!s.destroyed) await new Promise((resolve) => s.once('close', resolve));
    expect((await h2(await session(), headers('goaway-2'), PAYLOAD)).status).toBe(200);
  });

  it('breakConnections() makes the open connections answer 500 to everything; new ones are healthy', async () => {
    const broken = await session();
    expect(sim.breakConnections('apns', 500)).toBe(1);
    const reply = await h2(broken, headers('broken-1'), PAYLOAD);
    expect([reply.status, reasonOf(reply)]).toEqual([500, 'InternalServerError']);
    expect((await h2(await session(), headers('broken-2'), PAYLOAD)).status).toBe(200);
  });

  it('stall() silences the open connections: no answer, no PING ack; new ones are healthy', async () => {
    const stalled = await session();
    expect(sim.stall('apns')).toBeGreaterThanOrEqual(1);
    const acked = await new Promise<boolean>((resolve) => {
      stalled.ping(() => resolve(true));
      setTimeout(() => resolve(false), 500);
    });
    expect(acked).toBe(false);
    expect((await h2(await session(), headers('stall-2'), PAYLOAD)).status).toBe(200);
  });

  it('setMaxConcurrentStreams() changes the setting on open connections and for new ones', async () => {
    const s = await session();
    const changed = new Promise<number | undefined>((resolve) =>
      s.once('remoteSettings', (settings) => resolve(settings.maxConcurrentStreams)),
    );
    sim.setMaxConcurrentStreams('apns', 1);
    expect(await changed).toBe(1);
    const fresh = await session();
    await waitFor(() => fresh.remoteSettings.maxConcurrentStreams === 1, { what: 'the new connection seeing the setting' });
    expect(sim.faults().maxConcurrentStreams).toEqual({ apns: 1, fcm: 1000 });
  });

  it('failTls() fails new handshakes until it is turned off', async () => {
    sim.failTls('apns');
    await expect(session()).rejects.toThrow();
    sim.failTls('apns', false);
    expect((await h2(await session(), headers('tls-1'), PAYLOAD)).status).toBe(200);
  });

  it('enforces the provider-token age and refresh rules', async () => {
    const { keyPem, keyId, teamId } = sim.credentials.apns;
    const now = Math.floor(Date.now() / 1000);
    const s = await session();
    sim.setProviderTokenRules({ maxAgeSeconds: 600, minRefreshSeconds: 1200 });
    expect(reasonOf(await h2(s, headers('age-1', providerToken(keyPem, keyId, teamId, now - 601)), PAYLOAD))).toBe('ExpiredProviderToken');
    expect((await h2(s, headers('age-2', providerToken(keyPem, keyId, teamId, now - 300)), PAYLOAD)).status).toBe(200);
    const tooSoon = await h2(s, headers('age-3', providerToken(keyPem, keyId, teamId, now)), PAYLOAD);
    expect([tooSoon.status, reasonOf(tooSoon)]).toEqual([429, 'TooManyProviderTokenUpdates']);
    // The older token stays valid.
    expect((await h2(s, headers('age-4', providerToken(keyPem, keyId, teamId, now - 300)), PAYLOAD)).status).toBe(200);
  });

  it('failNext() and random faults answer whatever the token asks for', async () => {
    const s = await session();
    sim.failNext('apns', 'ServiceUnavailable', 2);
    expect(reasonOf(await h2(s, headers('next-1'), PAYLOAD))).toBe('ServiceUnavailable');
    expect(reasonOf(await h2(s, headers('next-2'), PAYLOAD))).toBe('ServiceUnavailable');
    expect((await h2(s, headers('next-3'), PAYLOAD)).status).toBe(200);
    sim.setRandomFaults({ errorRate: 1 });
    expect((await h2(s, headers('random-1'), PAYLOAD)).status).toBe(503);
    sim.setRandomFaults({ errorRate: 0, timeoutRate: 1 });
    let answered = false;
    void h2(s, headers('random-2'), PAYLOAD).then(
      () => (answered = true),
      () => undefined,
    );
    await waitFor(() => sim.records().at(-1)?.token === 'random-2', { what: 'the timed-out request recorded' });
    expect(sim.records().at(-1)?.status).toBe(0);
    expect(answered).toBe(false);
  });

  it('failOAuth() makes the token endpoint answer the given status', async () => {
    sim.failOAuth(503);
    const agent = new SimulatorAgent(new URL(sim.fcmUrl), sim.ca);
    try {
      const reply = await httpsRequest(
        agent,
        'https://oauth2.googleapis.com/token',
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'grant_type=x',
      );
      expect(reply.status).toBe(503);
      expect(sim.counts().oauth).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('serves every fault on the control API', async () => {
    const post = async (path: string): Promise<Reply> => control(sim, 'POST', path);
    expect((await post('/faults/max-streams?provider=fcm&max=7')).status).toBe(200);
    expect(sim.faults().maxConcurrentStreams.fcm).toBe(7);
    expect((await post('/faults/tls?provider=apns&on=true')).status).toBe(200);
    expect(sim.faults().tlsFailure.apns).toBe(true);
    expect((await post('/faults/oauth?status=500')).status).toBe(200);
    expect((await post('/faults/provider-tokens?max_age=60&min_refresh=30')).status).toBe(200);
    expect(sim.faults().providerTokens).toEqual({ maxAgeSeconds: 60, minRefreshSeconds: 30 });
    expect((await post('/faults/quota?retry_after=5')).status).toBe(200);
    expect(sim.faults().quotaUntil).toBeGreaterThan(Date.now() + 4000);
    expect((await post('/faults/fail-next?provider=fcm&code=INTERNAL&count=3')).status).toBe(200);
    expect((await post('/faults/random?error_rate=0.02&timeout_rate=0.01')).status).toBe(200);
    const all = JSON.parse((await control(sim, 'GET', '/faults')).body) as ReturnType<Simulator['faults']>;
    expect(all).toEqual(
      expect.objectContaining({
        oauthStatus: 500,
        failNext: { apns: null, fcm: { code: 'INTERNAL', count: 3 } },
        random: { errorRate: 0.02, timeoutRate: 0.01 },
      }),
    );
    expect((await post('/faults/goaway?provider=apns')).status).toBe(200);
    expect((await post('/faults/break?provider=apns&status=503')).status).toBe(200);
    expect((await post('/faults/stall?provider=fcm')).status).toBe(200);
    expect((await post('/faults/outage?on=false')).status).toBe(200);
    expect((await post('/faults/goaway?provider=smtp')).status).toBe(400);
    expect((await post('/faults/random?error_rate=2')).status).toBe(400);
    expect((await post('/faults/max-streams?provider=apns&max=0')).status).toBe(400);
    expect((await post('/faults/clear')).status).toBe(200);
    expect(sim.faults()).toEqual(expect.objectContaining({ oauthStatus: 0, quotaUntil: 0, tlsFailure: { apns: false, fcm: false } }));
  });
});
