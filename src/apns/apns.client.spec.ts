import { generateKeyPairSync } from 'node:crypto';
import { ApnsError, Notification, Priority, PushType } from 'apns2';
import { createVerifier } from 'fast-jwt';
import { TransportError, type Http2Request, type Http2Response } from '../transport/http2.transport';
import type { Transport } from '../transport/threaded.transport';
import { apnsIdOf, apnsMessage, GatewayApnsClient, toResult, type ApnsAuth } from './apns.client';

function apnsError(statusCode: number, reason?: string): ApnsError {
  return new ApnsError({ statusCode, notification: new Notification('t'), response: { reason: reason as string, timestamp: 0 } });
}

describe('APNs result mapping (toResult)', () => {
  it.each([
    // [status, reason, retryable]
    [400, 'BadDeviceToken', false],
    [400, 'PayloadTooLarge', false],
    [400, 'DeviceTokenNotForTopic', false],
    [403, 'InvalidProviderToken', false],
    [403, 'ExpiredProviderToken', true],
    [410, 'Unregistered', false],
    [413, 'PayloadTooLarge', false],
    [429, 'TooManyRequests', true],
    [429, 'TooManyProviderTokenUpdates', true],
    [500, 'InternalServerError', true],
    [503, 'ServiceUnavailable', true],
    [503, 'Shutdown', true],
  ] as const)('%i %s: retryable %s', (status, reason, retryable) => {
    expect(toResult(apnsError(status, reason))).toEqual({ ok: false, reason, retryable });
  });

  it('an answer without a reason is HTTP<status>, retryable for 429, 500 and 503 only', () => {
    expect(toResult(apnsError(502))).toEqual({ ok: false, reason: 'HTTP502', retryable: false });
    expect(toResult(apnsError(503))).toEqual({ ok: false, reason: 'HTTP503', retryable: true });
  });

  it('a transport failure keeps its reason and is retryable; anything else is a ClientError', () => {
    expect(toResult(new TransportError('Timeout', 'no answer'))).toEqual({ ok: false, reason: 'Timeout', retryable: true });
    expect(toResult(new TransportError('StreamReset', 'reset'))).toEqual({ ok: false, reason: 'StreamReset', retryable: true });
    expect(toResult(new TypeError('bad'))).toEqual({ ok: false, reason: 'ClientError', retryable: false });
  });
});

describe('apnsIdOf', () => {
  it('is the name-based UUID (version 5 layout) of the SHA-1 of the push id', () => {
    // SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
    expect(apnsIdOf('abc')).toBe('a9993e36-4706-516a-ba3e-25717850c26c');
  });

  it('is the same for a push on every call and differs between pushes', () => {
    expect(apnsIdOf('boot-1-0')).toBe(apnsIdOf('boot-1-0'));
    expect(apnsIdOf('boot-1-0')).not.toBe(apnsIdOf('boot-1-1'));
    expect(apnsIdOf('boot-1-0')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('GatewayApnsClient requests', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const TOKEN_AUTH: ApnsAuth = { kind: 'token', keyPem, keyId: 'KEY1234567', teamId: 'TEAM123456' };

  /** A client whose transport records the requests and answers them in reverse order, each when told. */
  function client(auth: ApnsAuth, answer: (req: Http2Request) => Http2Response = () => ok()) {
    const c = new GatewayApnsClient({
      auth,
      topic: 'com.example.app',
      sandbox: false,
      sessions: 1,
      timeoutMs: 1000,
      idleTimeoutMs: 1000,
      threads: 0,
    });
    void c.close();
    const requests: Http2Request[] = [];
    const pending: (() => void)[] = [];
    const transport = {
      request: (req: Http2Request) =>
        new Promise<Http2Response>((resolve) => {
          requests.push(req);
          pending.push(() => resolve(answer(req)));
        }),
    } as unknown as Transport;
    (c as { transport: Transport }).transport = transport;
    const answerAll = (): void => {
      for (const release of pending.splice(0).reverse()) release();
    };
    return { c, requests, answerAll };
  }

  /** A request as it goes on the wire: its own headers over the ones it shares, and its body or the shared one. */
  function sent({ method, path, headers, body, shared }: Http2Request) {
    return { method, path, headers: { ...shared?.headers, ...headers }, body: body ?? shared?.body };
  }

  function ok(): Http2Response {
    return { statusCode: 200, headers: {}, body: { json: () => Promise.resolve({}), text: () => Promise.resolve('') } };
  }

  it("sends each push with its own apns-id, also when the sends overlap, and apns2's headers and payload", async () => {
    const { c, requests, answerAll } = client(TOKEN_AUTH);
    const background = new Notification('aa bb', {
      type: PushType.background,
      priority: Priority.throttled,
      contentAvailable: true,
      expiration: 1700000000,
    });
    const sends = [
      c.deliver(new Notification('t1', { alert: 'one' }), 'id-1'),
      c.deliver(background, 'id-2'),
      c.deliver(new Notification('t3')),
    ];
    await new Promise(setImmediate);
    answerAll();
    expect(await Promise.all(sends)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(requests.map((r) => sent(r).headers['apns-id'])).toEqual(['id-1', 'id-2', undefined]);
    expect(sent(requests[1])).toEqual({
      method: 'POST',
      path: '/3/device/aa%20bb',
      headers: expect.objectContaining({
        'apns-push-type': 'background',
        'apns-priority': '5',
        'apns-topic': 'com.example.app',
        'apns-expiration': '1700000000',
      }) as object,
      body: JSON.stringify({ aps: { 'content-available': 1 } }),
    });
    expect(sent(requests[0]).headers['apns-priority']).toBeUndefined();
  });

  it('signs an ES256 provider token naming the key and team, reused across requests', async () => {
    const { c, requests, answerAll } = client(TOKEN_AUTH);
    const sends = [c.deliver(new Notification('t1'), 'a'), c.deliver(new Notification('t2'), 'b')];
    await new Promise(setImmediate);
    answerAll();
    await Promise.all(sends);
    const [first, second] = requests.map((r) => String(sent(r).headers.authorization));
    expect(second).toBe(first);
    const verify = createVerifier({
      key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      complete: true,
      algorithms: ['ES256'],
    });
    const { header, payload } = verify(first.slice('bearer '.length)) as {
      header: { kid: string; alg: string };
      payload: { iss: string; iat: number };
    };
    expect(header).toEqual(expect.objectContaining({ alg: 'ES256', kid: 'KEY1234567' }));
    expect(payload.iss).toBe('TEAM123456');
    expect(c.tokenAgeMs).toBeGreaterThanOrEqual(0);
  });

  it("shares one message's headers and payload between its pushes, and builds them again with a new provider token", async () => {
    const { c, requests, answerAll } = client(TOKEN_AUTH);
    const message = apnsMessage({ alert: 'hello', collapseId: 'c1' });
    const other = apnsMessage({ alert: 'other' });
    const sends = [c.send('t1', message, 'a'), c.send('t2', message, 'b'), c.send('t3', other, 'c')];
    await new Promise(setImmediate);
    answerAll();
    await Promise.all(sends);
    expect(requests[1].shared).toBe(requests[0].shared);
    expect(requests[2].shared).not.toBe(requests[0].shared);
    expect(requests.map((r) => [r.path, r.headers])).toEqual([
      ['/3/device/t1', { 'apns-id': 'a' }],
      ['/3/device/t2', { 'apns-id': 'b' }],
      ['/3/device/t3', { 'apns-id': 'c' }],
    ]);
    expect(sent(requests[0])).toMatchObject({ body: '{"aps":{"alert":"hello"}}', headers: { 'apns-collapse-id': 'c1' } });

    // An hour later the provider token is signed anew: the message's next push carries it.
    const now = Date.now();
    const later = jest.spyOn(Date, 'now').mockReturnValue(now + 60 * 60 * 1000);
    try {
      const next = c.send('t4', message, 'd');
      await new Promise(setImmediate);
      answerAll();
      await next;
    } finally {
      later.mockRestore();
    }
    expect(requests[3].shared).not.toBe(requests[0].shared);
    expect(sent(requests[3]).headers.authorization).not.toBe(sent(requests[0]).headers.authorization);
    expect(sent(requests[3]).body).toBe(sent(requests[0]).body);
  });

  it('sends no authorization header with a client certificate', async () => {
    const { c, requests, answerAll } = client({ kind: 'certificate', certPem: 'not a certificate', keyPem: 'k' });
    const sending = c.deliver(new Notification('t1'), 'a');
    await new Promise(setImmediate);
    answerAll();
    await sending;
    expect(sent(requests[0]).headers.authorization).toBeUndefined();
    expect(c.tokenAgeMs).toBeUndefined();
  });

  it("maps Apple's answer through apns2's error, an unreadable body being UnknownError", async () => {
    const answers: Http2Response[] = [
      {
        statusCode: 410,
        headers: {},
        body: { json: () => Promise.resolve({ reason: 'Unregistered', timestamp: 1 }), text: () => Promise.resolve('') },
      },
      { statusCode: 500, headers: {}, body: { json: () => Promise.reject(new SyntaxError('not JSON')), text: () => Promise.resolve('') } },
    ];
    const { c, answerAll } = client(TOKEN_AUTH, () => answers.shift()!);
    const first = c.deliver(new Notification('t1'), 'a');
    await new Promise(setImmediate);
    answerAll();
    expect(await first).toEqual({ ok: false, reason: 'Unregistered', retryable: false });
    const second = c.deliver(new Notification('t2'), 'b');
    await new Promise(setImmediate);
    answerAll();
    expect(await second).toEqual({ ok: false, reason: 'UnknownError', retryable: true });
  });
});
