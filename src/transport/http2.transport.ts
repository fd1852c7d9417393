import { request as httpRequest } from 'node:http';
import { ClientHttp2Session, ClientHttp2Stream, connect, constants, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

/** An HTTP proxy the connections are tunnelled through (CONNECT), and the hosts that bypass it. */
export interface ProxySettings {
  /** `http://[user:password@]host:port`. */
  url: string;
  /** `NO_PROXY` syntax: comma-separated host names, domain suffixes (`.example.com`), IPs, `host:port`, or `*`. */
  noProxy: string;
}

export interface Http2TransportOptions {
  /** The provider's real origin, e.g. `https://api.push.apple.com`: used for `:authority` and TLS server name. */
  origin: string;
  /** Dial this `host:port` instead of the origin's (a simulator); TLS still checks the origin's host name. */
  connectTo?: { host: string; port: number };
  /** Extra trusted CA (PEM); Node's default roots otherwise. */
  ca?: string | Buffer;
  /** TLS client certificate and key (APNs certificate authentication). */
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** Connections kept to the provider; requests spread over them. */
  sessions: number;
  /** Deadline of one request, from submission to the end of the response. */
  timeoutMs: number;
  /** Close a connection that has been idle this long; 0 keeps it. */
  idleTimeoutMs: number;
  /** Tunnel the connections through this HTTP proxy. */
  proxy?: ProxySettings;
}

/** The proxy URL to reach `host:port` through, or undefined when `noProxy` exempts it (or there is no proxy). */
export function proxyFor(proxy: ProxySettings | undefined, host: string, port: number): URL | undefined {
  if (!proxy || proxy.url === '') return undefined;
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  for (const raw of proxy.noProxy.toLowerCase().split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') return undefined;
    const [, entryHost, entryPort] = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw) ?? /^([^:]+)(?::(\d+))?$/.exec(raw) ?? [raw, raw];
    if (entryPort !== undefined && Number(entryPort) !== port) continue;
    const suffix = entryHost.replace(/^\*/, '');
    if (
      suffix.startsWith('.')
        ? name.endsWith(suffix) || name === suffix.slice(1)
        : name === suffix || (!isIP(name) && name.endsWith(`.${suffix}`))
    ) {
      return undefined;
    }
  }
  return new URL(proxy.url);
}

/**
 * A stream to `host:port` through an HTTP proxy's CONNECT tunnel, usable at once: what is written before the proxy
 * has answered (the TLS ClientHello) waits for the tunnel. A refusal of the proxy destroys the stream with its status.
 */
export function tunnel(proxy: URL, host: string, port: number): Duplex {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  let upstream: Socket | undefined;
  let waiting: (() => void) | undefined;
  const headers: Record<string, string> = { host: target };
  if (proxy.username !== '') {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const connectRequest = httpRequest({
    host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(proxy.port || 80),
    method: 'CONNECT',
    path: target,
    headers,
    agent: false,
  });
  const stream = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      if (upstream) upstream.write(chunk, callback);
      else waiting = () => upstream!.write(chunk, callback);
    },
    read() {
      upstream?.resume();
    },
    final(callback) {
      upstream?.end();
      callback();
    },
    destroy(error, callback) {
      upstream?.destroy();
      connectRequest.destroy();
      callback(error);
    },
  });
  connectRequest.once('connect', (res, socket, head) => {
    if (res.statusCode !== 200) {
      socket.destroy();
      stream.destroy(new Error(`proxy ${proxy.host} answered ${res.statusCode} to CONNECT ${target}`));
      return;
    }
    upstream = socket;
    if (head.length > 0) stream.push(head);
    socket.on('data', (data: Buffer) => {
      if (!stream.push(data)) socket.pause();
    });
    socket.on('end', () => stream.push(null));
    socket.on('error', (error) => stream.destroy(error));
    socket.on('close', () => stream.destroy());
    waiting?.();
    waiting = undefined;
  });
  connectRequest.once('error', (error) => stream.destroy(new Error(`proxy ${proxy.host}: ${error.message}`)));
  connectRequest.end();
  return stream;
}

export interface Http2Response {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: { json(): Promise<unknown>; text(): Promise<string> };
}

/**
 * What many requests have in common (a notification's headers and payload, or a credential's header), built once:
 * posted to a transport thread once per batch of requests, however many of them share it.
 */
export interface SharedRequestPart {
  readonly headers: OutgoingHttpHeaders;
  readonly body?: string;
}

export interface Http2Request {
  path: string;
  method: string;
  /** This request's own headers: the transport adds the shared ones and the pseudo-headers to this object. */
  headers: OutgoingHttpHeaders;
  /** The body; `shared.body` when there is none. */
  body?: string;
  shared?: SharedRequestPart;
}

/** A transport failure: the provider gave no answer (connect error, reset, GOAWAY, deadline). Always retryable. */
export class TransportError extends Error {
  constructor(
    readonly reason: 'Timeout' | 'ConnectionError' | 'StreamReset',
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS, NGHTTP2_CANCEL } = constants;

/** A connection answering this many 5xx in a row is replaced: a broken front-end node rarely heals itself. */
export const RECYCLE_AFTER_SERVER_ERRORS = 3;
/** How long a connection has to answer a PING before it is taken for dead. */
const PING_DEADLINE_MS = 2000;

interface SessionHealth {
  /** The TLS and HTTP/2 handshakes completed. */
  connected: boolean;
  serverErrors: number;
  probing: boolean;
}

export class Reply implements Http2Response {
  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
    private readonly raw: string,
  ) {}

  get body(): Http2Response['body'] {
    return this;
  }

  json(): Promise<unknown> {
    return Promise.resolve().then(() => JSON.parse(this.raw) as unknown);
  }

  text(): Promise<string> {
    return Promise.resolve(this.raw);
  }
}

/**
 * How a request ends: with an error, or with the answer's status, headers and body (the body of a 200 is not read,
 * and is empty here).
 */
export type Completion = (error: Error | undefined, status: number, headers: IncomingHttpHeaders, body: string) => void;

const NO_HEADERS: IncomingHttpHeaders = Object.freeze({});

/** One request in flight. The stream's listeners are shared functions that find it through {@link EXCHANGE}. */
class Exchange {
  status = 0;
  headers = NO_HEADERS;
  chunks?: Buffer[];
  settled = false;

  constructor(
    readonly transport: Http2Transport,
    readonly slot: number,
    readonly session: ClientHttp2Session,
    readonly stream: ClientHttp2Stream,
    readonly deadline: number,
    readonly done: Completion,
  ) {}
}

const EXCHANGE = Symbol('exchange');
type TrackedStream = ClientHttp2Stream & { [EXCHANGE]: Exchange };

function onResponse(this: TrackedStream, headers: IncomingHttpHeaders): void {
  const exchange = this[EXCHANGE];
  exchange.headers = headers;
  exchange.status = Number(headers[HTTP2_HEADER_STATUS]);
  exchange.transport.countStatus(exchange);
  if (exchange.status === 200) {
    // A success carries no body the gateway reads: discard it without decoding.
    this.resume();
  } else {
    exchange.chunks = [];
    this.on('data', onData);
  }
}

function onData(this: TrackedStream, chunk: Buffer): void {
  this[EXCHANGE].chunks!.push(chunk);
}

function onError(this: TrackedStream, error: Error): void {
  const exchange = this[EXCHANGE];
  exchange.transport.finish(exchange, exchange.transport.broken(exchange, error.message));
}

function onClose(this: TrackedStream): void {
  const exchange = this[EXCHANGE];
  if (exchange.settled) return;
  // A stream refused by GOAWAY or reset before its headers ends without a response: a transport failure.
  exchange.transport.finish(
    exchange,
    exchange.status === 0 ? exchange.transport.broken(exchange, `stream closed without a response (code ${this.rstCode ?? 0})`) : undefined,
  );
}

function fail(done: Completion, error: Error): void {
  process.nextTick(done, error, 0, NO_HEADERS, '');
}

/**
 * A small pool of long-lived HTTP/2 connections to one provider. It exposes the `request()` shape of an undici
 * Dispatcher, which is what apns2 calls, so apns2 keeps its notification model, JWT and errors while the
 * connections are plain `node:http2` sessions: configurable endpoint and client certificate, many concurrent
 * streams per connection, a deadline on every request, and broken connections replaced on the next request.
 */
export class Http2Transport {
  private readonly slots: (ClientHttp2Session | undefined)[];
  private readonly active: number[];
  private next = 0;
  private closed = false;
  private readonly health = new WeakMap<ClientHttp2Session, SessionHealth>();
  private readonly authority: URL;
  /** Requests in the order they were sent, for the deadline sweep; settled ones are dropped as it passes them. */
  private pending: Exchange[] = [];
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly options: Http2TransportOptions) {
    this.authority = new URL(options.origin);
    this.slots = new Array<ClientHttp2Session | undefined>(options.sessions).fill(undefined);
    this.active = new Array<number>(options.sessions).fill(0);
  }

  /** Connections currently open. */
  get openSessions(): number {
    return this.slots.filter((s) => s !== undefined && !s.closed && !s.destroyed).length;
  }

  request(req: Http2Request): Promise<Http2Response> {
    return new Promise<Http2Response>((resolve, reject) =>
      this.send(req, (error, status, headers, body) => (error ? reject(error) : resolve(new Reply(status, headers, body)))),
    );
  }

  /**
   * {@link request} without a promise or a response object per request: what a transport thread calls, where each
   * answer only becomes a message back to the main thread. `done` is called once, never synchronously.
   */
  send(req: Http2Request, done: Completion): void {
    if (this.closed) return fail(done, new TransportError('ConnectionError', 'transport closed'));
    const slot = this.pickSlot();
    let session: ClientHttp2Session;
    try {
      session = this.sessionAt(slot);
    } catch (error) {
      return fail(done, new TransportError('ConnectionError', (error as Error).message));
    }
    let stream: ClientHttp2Stream;
    // The headers object is the caller's own, built for this one request.
    const { headers, shared } = req;
    if (shared) {
      const common = shared.headers;
      for (const name in common) headers[name] ??= common[name];
    }
    headers[HTTP2_HEADER_METHOD] = req.method;
    headers[HTTP2_HEADER_PATH] = req.path;
    try {
      stream = session.request(headers);
    } catch (error) {
      this.drop(slot, session);
      return fail(done, new TransportError('ConnectionError', (error as Error).message));
    }
    this.active[slot]++;
    const exchange = new Exchange(this, slot, session, stream, Date.now() + this.options.timeoutMs, done);
    (stream as TrackedStream)[EXCHANGE] = exchange;
    this.pending.push(exchange);
    this.sweepSoon();
    stream.on('response', onResponse);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.end(req.body ?? shared?.body ?? '');
  }

  /** @internal Settles a request once, with its response or with an error. */
  finish(exchange: Exchange, error?: Error): void {
    if (exchange.settled) return;
    exchange.settled = true;
    this.active[exchange.slot]--;
    const { chunks } = exchange;
    exchange.done(error, exchange.status, exchange.headers, chunks ? Buffer.concat(chunks).toString('utf8') : '');
  }

  /** @internal The transport reason for a stream that ended without an answer. */
  broken(exchange: Exchange, message: string): TransportError {
    return new TransportError(this.healthOf(exchange.session).connected ? 'StreamReset' : 'ConnectionError', message);
  }

  /**
   * Every request has the same deadline after its start, so requests expire in the order they were sent: one timer
   * walks the oldest ones instead of a timer per stream.
   */
  private sweepSoon(): void {
    if (this.sweeper) return;
    // Deadlines fire at most a twentieth of the timeout late.
    const every = Math.max(10, Math.min(250, this.options.timeoutMs / 20));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = Date.now();
    let head = 0;
    for (; head < this.pending.length; head++) {
      const exchange = this.pending[head];
      if (exchange.settled) continue;
      if (exchange.deadline > now) break;
      exchange.stream.close(NGHTTP2_CANCEL);
      this.finish(exchange, new TransportError('Timeout', `no response within ${this.options.timeoutMs} ms`));
      // One slow answer is the provider's business; a connection that no longer answers PING is dead.
      this.probe(exchange.slot, exchange.session);
    }
    if (head > 0) this.pending.splice(0, head);
    // A slow request at the front keeps the settled ones behind it: drop those too, so memory follows what is in flight.
    const inFlight = this.active.reduce((sum, n) => sum + n, 0);
    if (this.pending.length > 1024 && this.pending.length > 4 * inFlight) this.pending = this.pending.filter((e) => !e.settled);
    if (this.pending.length === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Sends a PING on every open connection, so idle ones stay known-good and dead ones are found. */
  ping(): void {
    this.slots.forEach((session, slot) => {
      if (session && !session.closed && !session.destroyed) this.probe(slot, session);
    });
  }

  /** PINGs the connection; one that does not answer within the deadline is destroyed and replaced. */
  private probe(slot: number, session: ClientHttp2Session): void {
    const health = this.healthOf(session);
    if (health.probing || session.closed || session.destroyed) return;
    health.probing = true;
    const timer = setTimeout(() => {
      this.drop(slot, session);
      session.destroy(new Error(`no PING answer within ${PING_DEADLINE_MS} ms`));
    }, PING_DEADLINE_MS).unref();
    try {
      session.ping((error) => {
        clearTimeout(timer);
        health.probing = false;
        if (error) session.destroy();
      });
    } catch {
      clearTimeout(timer);
      this.drop(slot, session);
      session.destroy();
    }
  }

  /** @internal Counts consecutive 5xx answers of a connection. */
  countStatus({ slot, session, status }: Exchange): void {
    const health = this.healthOf(session);
    if (status < 500) {
      health.serverErrors = 0;
      return;
    }
    // Streams in flight finish on the old connection; new requests go to a new one.
    if (++health.serverErrors >= RECYCLE_AFTER_SERVER_ERRORS) this.drop(slot, session);
  }

  private healthOf(session: ClientHttp2Session): SessionHealth {
    let health = this.health.get(session);
    if (!health) this.health.set(session, (health = { connected: false, serverErrors: 0, probing: false }));
    return health;
  }

  /**
   * Closes every connection, giving requests still in flight `graceMs` to finish. By the time the gateway closes
   * its clients the queue has drained and anything still unanswered has been settled as failed.
   */
  async close(graceMs = 1000): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all(
      this.slots.map(
        (session) =>
          new Promise<void>((resolve) => {
            if (!session || session.closed || session.destroyed) return resolve();
            const timer = setTimeout(() => session.destroy(), Math.min(graceMs, this.options.timeoutMs)).unref();
            session.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  private pickSlot(): number {
    // Round robin, skipping a connection that carries clearly more streams than the next one.
    const n = this.slots.length;
    const slot = this.next;
    this.next = (slot + 1) % n;
    if (n > 1) {
      const other = this.next;
      if (this.active[other] + 8 < this.active[slot]) return other;
    }
    return slot;
  }

  private sessionAt(slot: number): ClientHttp2Session {
    const existing = this.slots[slot];
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = this.connect();
    this.slots[slot] = session;
    session.once('connect', () => {
      this.healthOf(session).connected = true;
    });
    session.on('error', () => this.drop(slot, session));
    session.on('goaway', () => this.drop(slot, session));
    session.on('close', () => this.drop(slot, session));
    if (this.options.idleTimeoutMs > 0) session.setTimeout(this.options.idleTimeoutMs, () => session.close());
    return session;
  }

  private drop(slot: number, session: ClientHttp2Session): void {
    if (this.slots[slot] === session) this.slots[slot] = undefined;
    if (!session.closed) session.close();
  }

  private connect(): ClientHttp2Session {
    const { connectTo, ca, cert, key, passphrase } = this.options;
    const servername = this.authority.hostname;
    const host = connectTo?.host ?? servername;
    const port = connectTo?.port ?? Number(this.authority.port || 443);
    const proxy = proxyFor(this.options.proxy, host, port);
    return connect(this.authority.origin, {
      settings: { enablePush: false },
      createConnection: () =>
        tlsConnect({
          ...(proxy ? { socket: tunnel(proxy, host, port) } : { host, port }),
          servername,
          ALPNProtocols: ['h2'],
          ca,
          cert,
          key,
          passphrase: passphrase || undefined,
        }),
    });
  }
}
