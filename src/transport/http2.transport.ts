import {
  ClientHttp2Session,
  ClientHttp2Stream,
  connect,
  constants,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
} from 'node:http2';
import { connect as tlsConnect } from 'node:tls';

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
}

export interface Http2Response {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: { json(): Promise<unknown>; text(): Promise<string> };
}

export interface Http2Request {
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: string;
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

class Reply implements Http2Response {
  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
    private readonly raw: string,
  ) {}
  readonly body = {
    json: (): Promise<unknown> => Promise.resolve().then(() => JSON.parse(this.raw) as unknown),
    text: (): Promise<string> => Promise.resolve(this.raw),
  };
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
    if (this.closed) return Promise.reject(new TransportError('ConnectionError', 'transport closed'));
    const slot = this.pickSlot();
    let session: ClientHttp2Session;
    try {
      session = this.sessionAt(slot);
    } catch (error) {
      return Promise.reject(new TransportError('ConnectionError', (error as Error).message));
    }
    return new Promise<Http2Response>((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = session.request({ ...req.headers, [HTTP2_HEADER_METHOD]: req.method, [HTTP2_HEADER_PATH]: req.path });
      } catch (error) {
        this.drop(slot, session);
        reject(new TransportError('ConnectionError', (error as Error).message));
        return;
      }
      this.active[slot]++;
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      let data = '';
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.active[slot]--;
        if (error) reject(error);
        else resolve(new Reply(status, headers, data));
      };
      stream.setTimeout(this.options.timeoutMs, () => {
        stream.close(NGHTTP2_CANCEL);
        finish(new TransportError('Timeout', `no response within ${this.options.timeoutMs} ms`));
        // One slow answer is the provider's business; a connection that no longer answers PING is dead.
        this.probe(slot, session);
      });
      stream.on('response', (h) => {
        headers = h;
        status = Number(h[HTTP2_HEADER_STATUS]);
        this.countStatus(slot, session, status);
      });
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        data += chunk;
      });
      // A stream refused by GOAWAY or reset ends without a response: that is a transport failure, never an answer.
      const broken = (message: string): TransportError =>
        new TransportError(this.healthOf(session).connected ? 'StreamReset' : 'ConnectionError', message);
      stream.on('end', () => finish(status === 0 ? broken(`stream ended without a response (code ${stream.rstCode ?? 0})`) : undefined));
      stream.on('error', (error: Error) => finish(broken(error.message)));
      stream.on('close', () => {
        if (!settled) finish(broken(`stream closed with code ${stream.rstCode ?? 0}`));
      });
      stream.end(req.body);
    });
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

  private countStatus(slot: number, session: ClientHttp2Session, status: number): void {
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
    const port = Number(this.authority.port || 443);
    return connect(this.authority.origin, {
      settings: { enablePush: false },
      createConnection: () =>
        tlsConnect({
          host: connectTo?.host ?? servername,
          port: connectTo?.port ?? port,
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
