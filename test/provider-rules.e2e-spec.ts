import { mkdtempSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notification, Priority, PushType, type NotificationOptions } from 'apns2';
import { GatewayApnsClient, type ApnsAuth } from '../src/apns/apns.client';
import { FcmClient } from '../src/fcm/fcm.client';
import type { SendResult } from '../src/provider/provider.result';
import { Simulator, type SimRecord } from '../src/simulator/simulator';
import type { SimulatorCredentialFiles } from '../src/simulator/simulator';
import { android, eventually, ios, startGateway, type Gateway } from './support/gateway';

/**
 * Each rule of Apple and Google both ways: the gateway refuses (400, naming the field) or reshapes what the service
 * would refuse, and the simulator, sent the same payload straight by the production clients, refuses it as the
 * service documents. See docs/provider-rules.md.
 */
describe('provider rules: what Apple and Google refuse is refused by the gateway and by the simulator', () => {
  let sim: Simulator;
  let gw: Gateway;
  let files: SimulatorCredentialFiles;
  const clients: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    sim = await Simulator.start();
    gw = await startGateway(sim, { PUSHGATE_CORE_ALLOWS_EMPTY_MESSAGE: 'true' });
    files = sim.writeCredentials(mkdtempSync(join(tmpdir(), 'pushgate-rules-')));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
    await sim.close();
  });
  beforeEach(() => sim.reset());

  function endpoint(url: string): { host: string; port: number } {
    const u = new URL(url);
    return { host: u.hostname, port: Number(u.port) };
  }

  function apnsClient(auth: 'token' | 'certificate', topic: string): GatewayApnsClient {
    const apns = sim.credentials.apns;
    const credentials: ApnsAuth =
      auth === 'token'
        ? { kind: 'token', keyPem: apns.keyPem, keyId: apns.keyId, teamId: apns.teamId }
        : { kind: 'certificate', certPem: apns.certPem, keyPem: apns.certKeyPem };
    const client = new GatewayApnsClient({
      auth: credentials,
      topic,
      sandbox: false,
      connectTo: endpoint(sim.apnsUrl),
      ca: sim.ca,
      sessions: 1,
      timeoutMs: 5000,
      idleTimeoutMs: 10_000,
      threads: 0,
    });
    clients.push(client);
    return client;
  }

  let fcm: FcmClient | undefined;
  function fcmClient(): FcmClient {
    if (fcm) return fcm;
    fcm = new FcmClient({
      serviceAccountPath: files.fcmServiceAccount,
      connectTo: endpoint(sim.fcmUrl),
      ca: sim.ca,
      sessions: 1,
      timeoutMs: 5000,
      idleTimeoutMs: 10_000,
      threads: 0,
    });
    clients.push(fcm);
    return fcm;
  }

  /** Sends apns2 options straight to the simulator with a token-auth client for the simulator's topic. */
  function straightToApns(token: string, options: NotificationOptions): Promise<SendResult> {
    return apnsClient('token', sim.credentials.apns.topic).deliver(new Notification(token, options));
  }

  function straightToFcm(token: string, data: Record<string, unknown>): Promise<SendResult> {
    return fcmClient().deliver(token, FcmClient.prepare(data as Record<string, string>, {}));
  }

  async function pushProblems(notification: Record<string, unknown>): Promise<string[]> {
    const res = await gw.http
      .post('/push')
      .send({ notifications: [notification] })
      .expect(400);
    const token = (notification.token as string[])[0];
    expect(sim.records().filter((r) => r.token === token)).toEqual([]);
    return (res.body as { errors: string[] }).errors;
  }

  async function delivered(gateway: Gateway, notification: Record<string, unknown>): Promise<SimRecord> {
    await gateway.http
      .post('/push')
      .send({ notifications: [notification] })
      .expect(200);
    const token = (notification.token as string[])[0];
    let record: SimRecord | undefined;
    await eventually(() => (record = sim.records().find((r) => r.token === token)) !== undefined);
    return record!;
  }

  const refused = (reason: string): SendResult => expect.objectContaining({ ok: false, reason }) as SendResult;

  describe('APNs topic', () => {
    it("Gaurun's sample configuration (certificate, no ios.topic) delivers: no apns-topic, APNs takes the certificate's", async () => {
      const gaurun = await startGateway(sim, { PUSHGATE_IOS_TOPIC: '' }, 'certificate');
      try {
        expect(gaurun.config.ios.topic).toBe('');
        const r = await delivered(gaurun, ios(['gaurun-sample']));
        expect(r).toMatchObject({ status: 200, auth: { kind: 'cert' }, payload: { aps: { alert: 'hello' } } });
        expect(r.headers['apns-topic']).toBeUndefined();
      } finally {
        await gaurun.close();
      }
    });

    it('the simulator refuses an empty apns-topic, or another app’s, with the certificate: 400 BadTopic', async () => {
      const session = http2.connect(sim.apnsUrl, {
        ca: sim.ca,
        cert: sim.credentials.apns.certPem,
        key: sim.credentials.apns.certKeyPem,
      });
      try {
        const answer = (topic: string): Promise<[number, unknown]> =>
          new Promise((resolve, reject) => {
            const req = session.request({ ':method': 'POST', ':path': '/3/device/bad-topic', 'apns-topic': topic });
            let status = 0;
            let body = '';
            req.on('response', (headers) => (status = Number(headers[':status'])));
            req.on('data', (chunk: Buffer) => (body += chunk.toString()));
            req.on('end', () => resolve([status, JSON.parse(body)]));
            req.on('error', reject);
            req.end('{"aps":{"alert":"hello"}}');
          });
        expect(await answer('')).toEqual([400, { reason: 'BadTopic' }]);
        expect(await answer('com.other.app')).toEqual([400, { reason: 'BadTopic' }]);
      } finally {
        session.close();
      }
    });

    it('with token authentication the simulator wants a topic of the team: MissingTopic, TopicDisallowed', async () => {
      expect(await apnsClient('token', '').deliver(new Notification('no-topic', { alert: 'hello' }))).toEqual(refused('MissingTopic'));
      expect(await apnsClient('token', 'com.other.app').deliver(new Notification('other-topic', { alert: 'hello' }))).toEqual(
        refused('TopicDisallowed'),
      );
      expect(await apnsClient('certificate', '').deliver(new Notification('cert-topic', { alert: 'hello' }))).toEqual({ ok: true });
    });
  });

  describe('APNs payload', () => {
    it('an extend key "aps" is refused at validation, naming the pair; the simulator refuses an aps that is no dictionary', async () => {
      expect(
        await pushProblems(
          ios(['aps-key'], {
            extend: [
              { key: 'k', val: 'v' },
              { key: 'aps', val: 'x' },
            ],
          }),
        ),
      ).toEqual([expect.stringMatching(/^notifications\[0\]\.extend\[1\]\.key: "aps"/)]);
      expect(await straightToApns('aps-key', { alert: 'hello', data: { aps: 'x' } })).toEqual(refused('InvalidPayload'));
    });

    it('empty title, subtitle and body are left out of the alert', async () => {
      const subtitleOnly = await delivered(gw, ios(['subtitle-only'], { subtitle: 'S' }));
      expect(subtitleOnly).toMatchObject({ status: 200, payload: { aps: { alert: { subtitle: 'S', body: 'hello' } } } });
      expect(subtitleOnly.payload).toEqual({ aps: { alert: { subtitle: 'S', body: 'hello' } } });
      const titleOnly = await delivered(gw, ios(['title-only'], { title: 'T', message: '' }));
      expect(titleOnly.payload).toEqual({ aps: { alert: { title: 'T' } } });
      expect(titleOnly.status).toBe(200);
    });

    it('content_available without alert, sound or badge goes as a background push at priority 5', async () => {
      const r = await delivered(gw, ios(['content-only'], { message: '', content_available: true, extend: [{ key: 'k', val: 'v' }] }));
      expect(r).toMatchObject({ status: 200, payload: { aps: { 'content-available': 1 }, k: 'v' } });
      expect(r.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5' });
      // What it went as before: an alert push at priority 10 with only content-available.
      expect(await straightToApns('content-only', { type: PushType.alert, contentAvailable: true })).toEqual(refused('BadPriority'));
    });

    it('push_type background sends no alert, sound or badge, at priority 5', async () => {
      const r = await delivered(gw, ios(['bg-alert'], { push_type: 'background', title: 'T', badge: 3, sound: 'default' }));
      expect(r).toMatchObject({ status: 200, payload: { aps: { 'content-available': 1 } } });
      expect(r.payload).toEqual({ aps: { 'content-available': 1 } });
      expect(r.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5' });
      const withAlert = { type: PushType.background, priority: Priority.throttled, contentAvailable: true, alert: 'hello' };
      expect(await straightToApns('bg-alert', withAlert)).toEqual(refused('InvalidPushType'));
      expect(await straightToApns('bg-priority', { type: PushType.background, contentAvailable: true })).toEqual(refused('BadPriority'));
    });

    it('a payload over 4,096 bytes is refused at validation; the simulator answers 413 PayloadTooLarge', async () => {
      const extend = [{ key: 'big', val: 'x'.repeat(4096) }];
      expect(await pushProblems(ios(['too-large'], { extend }))).toEqual([
        expect.stringMatching(/^notifications\[0\]: APNs payload is \d+ bytes, over the 4096-byte limit$/),
      ]);
      expect(await straightToApns('too-large', { alert: 'hello', data: { big: 'x'.repeat(4096) } })).toEqual(refused('PayloadTooLarge'));
    });
  });

  describe('FCM data', () => {
    /** `extend` whose data map (with `message: "hello"`) is exactly `bytes` long as compact JSON. */
    function dataOf(bytes: number): { key: string; val: string }[] {
      const overhead = Buffer.byteLength(JSON.stringify({ message: 'hello', k: '' }));
      return [{ key: 'k', val: 'x'.repeat(bytes - overhead) }];
    }

    it('data of 4,096 bytes is delivered; one byte more is refused by the gateway and by the simulator', async () => {
      const fits = await delivered(gw, android(['data-4096'], { extend: dataOf(4096) }));
      expect(fits.status).toBe(200);
      expect(Buffer.byteLength(JSON.stringify((fits.payload as { data: unknown }).data))).toBe(4096);

      expect(await pushProblems(android(['data-4097'], { extend: dataOf(4097) }))).toEqual([
        'notifications[0]: FCM data is 4097 bytes, over the 4096-byte limit',
      ]);
      expect(await straightToFcm('data-4097', { message: 'hello', k: dataOf(4097)[0].val })).toEqual(refused('INVALID_ARGUMENT'));
    });

    it('24 KB of data is refused before anything is queued; the simulator answers INVALID_ARGUMENT', async () => {
      const extend = [
        { key: 'blob', val: 'x'.repeat(4096) },
        ...Array.from({ length: 5 }, (_, i) => ({ key: `b${i}`, val: 'y'.repeat(4096) })),
      ];
      const [problem] = await pushProblems(android(['data-24k'], { extend }));
      expect(problem).toMatch(/^notifications\[0\]: FCM data is 24\d{3} bytes, over the 4096-byte limit$/);
      expect(await straightToFcm('data-24k', Object.fromEntries(extend.map((e) => [e.key, e.val])))).toEqual(refused('INVALID_ARGUMENT'));
    });

    it.each(['from', 'message_type', 'google.c.a.e', 'gcm.notification.title'])(
      'the reserved data key %s is refused, naming the pair; the simulator answers INVALID_ARGUMENT',
      async (key) => {
        expect(
          await pushProblems(
            android(['reserved'], {
              extend: [
                { key: 'ok', val: 'v' },
                { key, val: 'v' },
              ],
            }),
          ),
        ).toEqual([
          expect.stringMatching(
            new RegExp(`^notifications\\[0\\]\\.extend\\[1\\]\\.key: "${key.replace(/\./g, '\\.')}" is reserved by FCM`),
          ),
        ]);
        expect(await straightToFcm('reserved', { message: 'hello', [key]: 'v' })).toEqual(refused('INVALID_ARGUMENT'));
      },
    );

    it('data values must be strings: the gateway refuses another type, the simulator answers INVALID_ARGUMENT', async () => {
      expect(await pushProblems(android(['number'], { extend: [{ key: 'n', val: 5 }] }))).toEqual(
        expect.arrayContaining(['notifications[0].extend[0].val: val must be a string']),
      );
      expect(await straightToFcm('number', { message: 'hello', n: 5 })).toEqual(refused('INVALID_ARGUMENT'));
    });
  });
});
