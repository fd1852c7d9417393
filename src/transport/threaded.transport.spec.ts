import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import { waitFor } from '../../test/support/wait';
import { Simulator } from '../simulator/simulator';
import { Http2Transport, TransportError, type Http2Request, type Http2Response, type Http2TransportOptions } from './http2.transport';
import { parseEndpoint } from './endpoint';
import {
  createTransport,
  SpreadTransport,
  ThreadedTransport,
  transportThreadSpawn,
  type ThreadCommand,
  type Transport,
} from './threaded.transport';

const TOKEN = 'a'.repeat(64);

function providerToken(sim: Simulator): string {
  const { keyPem, keyId, teamId } = sim.credentials.apns;
  const head = Buffer.from(JSON.stringify({ alg: 'ES256', kid: keyId })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: teamId, iat: Math.floor(Date.now() / 1000) })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${claims}`), { key: keyPem, dsaEncoding: 'ieee-p1363' });
  return `${head}.${claims}.${signature.toString('base64url')}`;
}

describe('transport thread', () => {
  let sim: Simulator;
  let options: Http2TransportOptions;
  let bearer: string;
  const open: Transport[] = [];

  function transport(overrides: Partial<Http2TransportOptions> = {}): Transport {
    const t = createTransport({ ...options, ...overrides }, 1);
    open.push(t);
    return t;
  }

  function push(authorization = `bearer ${bearer}`, token = TOKEN): Http2Request {
    return {
      method: 'POST',
      path: `/3/device/${token}`,
      headers: { authorization, 'apns-topic': sim.credentials.apns.topic, 'content-type': 'application/json' },
      body: '{"aps":{"alert":"hi"}}',
    };
  }

  beforeAll(async () => {
    sim = await Simulator.start();
    options = {
      origin: 'https://api.sandbox.push.apple.com',
      connectTo: parseEndpoint(new URL(sim.apnsUrl).host),
      ca: sim.ca,
      sessions: 1,
      timeoutMs: 2000,
      idleTimeoutMs: 0,
    };
    bearer = providerToken(sim);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    sim.reset();
  });

  afterAll(() => sim.close());

  it('is the main thread transport when no threads are configured', () => {
    const t = createTransport(options, 0);
    expect(t).toBeInstanceOf(Http2Transport);
    return t.close();
  });

  it('carries requests to the provider and answers each of them', async () => {
    const t = transport();
    expect(t).toBeInstanceOf(ThreadedTransport);
    const replies = await Promise.all(Array.from({ length: 200 }, () => t.request(push())));
    expect(replies.map((r) => r.statusCode)).toEqual(Array(200).fill(200));
    expect(sim.counts().apns.ok).toBe(200);
    expect(t.openSessions).toBe(1);
  });

  it('posts the requests made in one turn of the event loop in one message', async () => {
    const spawn = transportThreadSpawn.worker;
    const sends: number[] = [];
    transportThreadSpawn.worker = (script) => {
      const worker = spawn(script);
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (command: ThreadCommand) => {
        if (command.op === 'send') sends.push(command.requests.length / 7);
        post(command);
      };
      return worker;
    };
    try {
      const t = transport();
      // Two callbacks of one turn, as the requests started for an accepted request and for a batch of answers are.
      const made = await new Promise<Promise<Http2Response>[]>((resolve) => {
        const requests: Promise<Http2Response>[] = [];
        setImmediate(() => requests.push(t.request(push())));
        setImmediate(() => {
          requests.push(t.request(push()));
          resolve(requests);
        });
      });
      expect((await Promise.all(made)).map((r) => r.statusCode)).toEqual([200, 200]);
      expect(sends).toEqual([2]);
    } finally {
      transportThreadSpawn.worker = spawn;
    }
  });

  it('answers a burst larger than one batch of answers, each request once', async () => {
    const t = transport({ sessions: 2 });
    const tokens = Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const replies = await Promise.all(tokens.map((token) => t.request(push(undefined, token))));
    expect(replies.filter((r) => r.statusCode === 200)).toHaveLength(3000);
    expect(new Set(sim.records().map((r) => r.token))).toEqual(new Set(tokens));
  });

  it('keeps 5,000 requests in flight (ten times what 2 workers of 256 pushers do) in a 64 MiB old generation', async () => {
    const spawn = transportThreadSpawn.worker;
    const started: Worker[] = [];
    transportThreadSpawn.worker = (script) => {
      const worker = new Worker(script, { name: 'pushgate-transport', resourceLimits: { maxOldGenerationSizeMb: 64 } });
      started.push(worker);
      return worker;
    };
    try {
      // 4-5 KB of the thread's heap per request in flight (10,000 do not fit in 48 MiB): what the thread
      // retains follows what is in flight, and this fails should that double.
      const t = transport({ sessions: 2, timeoutMs: 60_000 });
      const tokens = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(64, '0'));
      const replies = await Promise.all(tokens.map((token) => t.request(push(undefined, token))));
      expect(replies.filter((r) => r.statusCode === 200)).toHaveLength(5000);
      // The same thread throughout: it did not die of its limit and get replaced.
      expect(started).toHaveLength(1);
      expect(started[0].threadId).toBeGreaterThan(0);
    } finally {
      transportThreadSpawn.worker = spawn;
    }
  });

  it.each([
    ['a transport thread', 1],
    ['the main thread', 0],
  ])('in %s, sends the part requests share with each their own headers and path', async (_where, threads) => {
    const t = createTransport(options, threads);
    open.push(t);
    const shared = {
      headers: { authorization: `bearer ${bearer}`, 'apns-topic': sim.credentials.apns.topic, 'apns-collapse-id': 'c1' },
      body: '{"aps":{"alert":"shared"}}',
    };
    const tokens = Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(64, '0'));
    const ids = tokens.map(() => randomUUID());
    const replies = await Promise.all(
      tokens.map((token, i) => t.request({ method: 'POST', path: `/3/device/${token}`, headers: { 'apns-id': ids[i] }, shared })),
    );
    expect(replies.map((r) => r.statusCode)).toEqual(Array(50).fill(200));
    const records = sim.records().sort((a, b) => tokens.indexOf(a.token) - tokens.indexOf(b.token));
    expect(records.map((r) => r.token)).toEqual(tokens);
    expect(records.map((r) => r.headers['apns-id'])).toEqual(ids);
    for (const r of records) {
      expect(r.headers['apns-collapse-id']).toBe('c1');
      expect(r.payload).toEqual({ aps: { alert: 'shared' } });
    }
    expect(shared.headers).toEqual({ authorization: `bearer ${bearer}`, 'apns-topic': sim.credentials.apns.topic, 'apns-collapse-id': 'c1' });
  });

  it("spreads a provider's connections over the transport threads", async () => {
    const t = createTransport({ ...options, sessions: 3 }, 2);
    open.push(t);
    expect(t).toBeInstanceOf(SpreadTransport);
    const { shares } = t as SpreadTransport;
    const replies = await Promise.all(Array.from({ length: 40 }, () => t.request(push())));
    expect(replies.map((r) => r.statusCode)).toEqual(Array(40).fill(200));
    expect(shares.map((share) => share.openSessions)).toEqual([2, 1]);
    expect(t.openSessions).toBe(3);
    const threadsOf = shares.map((share) => (share as unknown as { thread: unknown }).thread);
    expect(threadsOf[0]).not.toBe(threadsOf[1]);
  });

  it("hands back a refusal's status, headers and body", async () => {
    const reply = await transport().request(push('bearer not-a-token'));
    expect(reply.statusCode).toBe(403);
    expect(reply.headers['content-type']).toContain('application/json');
    expect(await reply.body.json()).toEqual({ reason: 'InvalidProviderToken' });
  });

  it('fails requests to an unreachable provider with a retryable transport error', async () => {
    const closed = await Simulator.start();
    const port = parseEndpoint(new URL(closed.apnsUrl).host)!.port;
    await closed.close();
    const t = transport({ connectTo: { host: '127.0.0.1', port } });
    await expect(t.request(push())).rejects.toMatchObject({ name: 'TransportError', reason: 'ConnectionError' });
    expect(t.openSessions).toBe(0);
  });

  it('fails a request the provider does not answer in time', async () => {
    sim.latencyMs = 1000;
    const t = transport({ timeoutMs: 200 });
    const error = (await t.request(push()).catch((e: unknown) => e)) as TransportError;
    expect(error).toBeInstanceOf(TransportError);
    expect(error.reason).toBe('Timeout');
  });

  it('refuses requests once closed, while other transports of the thread go on', async () => {
    const first = transport();
    const second = transport();
    await first.request(push());
    await first.close();
    await expect(first.request(push())).rejects.toMatchObject({ reason: 'ConnectionError' });
    expect((await second.request(push())).statusCode).toBe(200);
  });

  it('fails the requests in flight of a thread that dies, and carries on in a new one', async () => {
    const t = transport();
    // The simulator never answers this token, and records it as soon as it arrives.
    const inFlight = t.request(push(undefined, 'sim-hang-thread'));
    await waitFor(() => sim.records().some((r) => r.token === 'sim-hang-thread'), { what: 'the request at the provider' });
    // What a crash of the thread looks like from the main thread: it exits.
    await (t as unknown as { thread: { worker: { terminate(): Promise<number> } } }).thread.worker.terminate();
    await expect(inFlight).rejects.toMatchObject({ name: 'TransportError', reason: 'ConnectionError', message: 'transport thread exited' });
    expect((await t.request(push())).statusCode).toBe(200);
    expect(t.openSessions).toBe(1);
  });

  it('reports a thread that cannot start for want of file descriptors, fails its requests, and starts one once it can', async () => {
    const root = resolve(__dirname, '../..');
    const node = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;
    // A process of its own, so that running out of descriptors harms nothing else: it takes every descriptor,
    // opens a transport, lets go of them and sends.
    const script = `
      const fs = require('node:fs');
      const { createTransport, transportStartFailure } = require(${JSON.stringify(join(root, 'dist/transport/threaded.transport.js'))});
      const [options, request] = JSON.parse(process.argv[1]);
      const until = async (check) => { while (!check()) await new Promise((r) => setTimeout(r, 20)); };
      (async () => {
        const held = [];
        try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
        const t = createTransport(options, 1);
        await until(() => t.startFailure !== undefined);
        const failure = transportStartFailure();
        const refused = await t.request(request).then((r) => r.statusCode, (e) => e.reason + ': ' + e.message);
        for (const fd of held) fs.closeSync(fd);
        await until(() => t.startFailure === undefined);
        const status = (await t.request(request)).statusCode;
        await t.close();
        console.log(JSON.stringify({ failure, refused, status, after: transportStartFailure() ?? null }));
      })();`;
    // Asynchronously: the simulator answering the child runs in this process.
    const child = await promisify(execFile)(node, ['-e', script, JSON.stringify([{ ...options, ca: sim.ca }, push()])], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    const last = child.stdout.split('\n').find((l) => l.startsWith('{')) ?? '';
    expect(JSON.parse(last)).toEqual({
      failure: expect.stringMatching(/EMFILE/),
      refused: expect.stringMatching(/^ConnectionError: transport thread could not start: .*EMFILE/),
      status: 200,
      after: null,
    });
  });
});
