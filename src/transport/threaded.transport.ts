import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http2';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import {
  Http2Transport,
  Reply,
  TransportError,
  type Http2Request,
  type Http2Response,
  type Http2TransportOptions,
} from './http2.transport';

/** What the provider clients need of a transport: {@link Http2Transport} in this thread or {@link ThreadedTransport}. */
export interface Transport {
  /** Connections currently open (for a transport thread, as of its last report). */
  readonly openSessions: number;
  /** Why its thread could not be started (`Worker initialization failure: EMFILE`), while that lasts. */
  readonly startFailure?: string;
  request(req: Http2Request): Promise<Http2Response>;
  ping(): void;
  close(graceMs?: number): Promise<void>;
}

/**
 * @internal The requests of one message to a transport thread, seven entries each: transport, sequence
 * number, path, method, headers, body, shared part. A flat array rather than an object per request, because the
 * structured clone writes every property name of every object. Requests posted together that share a part carry the
 * same object, which the clone writes once and the thread reads back as one object.
 */
export type ThreadRequests = (number | string | Http2Request['headers'] | Http2Request['shared'] | undefined)[];

/** @internal An answer other than a 200: a response with its headers and body, or a transport failure. */
export type ThreadReply =
  | { seq: number; status: number; headers: IncomingHttpHeaders; body: string }
  | { seq: number; error: TransportError['reason'] | 'Error'; message: string };

/** @internal Messages to a transport thread. */
export type ThreadCommand =
  | { op: 'open'; transport: number; options: Http2TransportOptions }
  | { op: 'send'; requests: ThreadRequests }
  | { op: 'ping'; transport: number }
  | { op: 'close'; transport: number; graceMs?: number };

/**
 * @internal Messages from a transport thread. The requests answered 200 are the first `sentCount` sequence numbers
 * of `sent` (a Float64Array's buffer, transferred rather than copied).
 */
export type ThreadEvent =
  | { op: 'replies'; sent: ArrayBuffer; sentCount: number; replies: ThreadReply[]; sessions: [number, number][] }
  | { op: 'closed'; transport: number };

const logger = new Logger('TransportThread');

/** Answers handed to their callers in one turn of the event loop at most. */
const REPLY_BATCH = 256;
/** Every 200 reads the same: no headers the gateway looks at, no body. */
const OK: Http2Response = new Reply(200, Object.freeze({}), '');
/** After a thread failed to start, the next attempt: out of file descriptors or memory is often short-lived. */
const RESTART_DELAY_MS = 1000;

interface Waiting {
  resolve(response: Http2Response): void;
  reject(error: Error): void;
}

/**
 * The compiled worker script. Running from the TypeScript sources (the test suite), the build's copy is used: a
 * worker thread loads JavaScript only.
 */
function workerScript(): string {
  const beside = join(__dirname, 'transport.worker.js');
  return existsSync(beside) ? beside : resolve(__dirname, '../../dist/transport/transport.worker.js');
}

/** @internal How a transport thread is created; a test replaces it to make a start fail. */
export const transportThreadSpawn = {
  worker: (script: string): Worker => new Worker(script, { name: 'pushgate-transport' }),
};

/**
 * A worker thread holding HTTP/2 connections for any number of transports. Requests made in one turn of the main
 * thread's event loop travel in one message, answers come back the same way, so the TLS, HTTP/2 framing and socket
 * work of delivery runs beside the main thread (accepting requests, queueing, logging) instead of on it.
 */
class TransportThread {
  private worker?: Worker;
  private outbox: ThreadRequests = [];
  private posting = false;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Answers received and not yet handed to their callers: a sequence number stands for a 200. */
  private inbox: (number | ThreadReply)[] = [];
  private inboxHead = 0;
  private delivering = false;
  private readonly open = new Map<number, { options: Http2TransportOptions; sessions: number; closed?: () => void }>();
  /** Why the last start failed; cleared once a thread runs. */
  failure?: string;
  private restartTimer?: NodeJS.Timeout;

  /**
   * Starts a thread. Creating one fails when the process is out of file descriptors or memory, either at once or
   * with an error before it comes online; that is remembered (refusing pushes meanwhile) and tried again later.
   */
  private start(): Worker | undefined {
    let worker: Worker;
    try {
      worker = transportThreadSpawn.worker(workerScript());
    } catch (error) {
      this.failedToStart((error as Error).message);
      return undefined;
    }
    let online = false;
    worker.unref();
    worker.on('online', () => {
      online = true;
      if (this.failure !== undefined) logger.log('transport thread started again');
      this.failure = undefined;
    });
    worker.on('message', (event: ThreadEvent) => this.receive(event));
    worker.on('error', (error: Error) => {
      if (online) logger.error(`transport thread failed: ${error.message}`);
      // It exits next: its requests fail then, with this reason.
      else if (this.worker === worker) this.noteFailure(error.message);
    });
    worker.on('exit', () => this.lost(worker, online));
    for (const [transport, { options }] of this.open) worker.postMessage({ op: 'open', transport, options } satisfies ThreadCommand);
    this.worker = worker;
    return worker;
  }

  private noteFailure(reason: string): void {
    if (this.failure === undefined) logger.error(`transport thread could not start, pushes are refused until it can: ${reason}`);
    this.failure = reason;
  }

  private failedToStart(reason: string): void {
    this.noteFailure(reason);
    this.abandon(`transport thread could not start: ${reason}`);
    this.restartTimer ??= setTimeout(() => {
      this.restartTimer = undefined;
      // With no transport left there is nothing to start a thread for, nor anything refused for want of one.
      if (this.open.size === 0) this.failure = undefined;
      else if (!this.worker) this.start();
    }, RESTART_DELAY_MS).unref();
  }

  /** Fails the requests waiting for an answer and those not yet posted: posted to a new thread they would go out after all. */
  private abandon(message: string): void {
    this.outbox = [];
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new TransportError('ConnectionError', message));
  }

  /** The thread ended (it crashed, was stopped or never came online): its requests failed without an answer. */
  private lost(worker: Worker, online: boolean): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (online) this.abandon('transport thread exited');
    else this.failedToStart(this.failure ?? 'the thread exited before it came online');
    for (const [transport, entry] of this.open) {
      entry.sessions = 0;
      // A transport being closed has nothing left to close.
      if (entry.closed) {
        this.open.delete(transport);
        entry.closed();
      }
    }
  }

  private post(command: ThreadCommand): void {
    (this.worker ?? this.start())?.postMessage(command);
  }

  /** Opens a transport in the thread, starting the thread now so that a failure to start shows before any push. */
  register(transport: number, options: Http2TransportOptions): void {
    this.open.set(transport, { options, sessions: 0 });
    if (this.worker) this.post({ op: 'open', transport, options });
    else this.start();
  }

  sessions(transport: number): number {
    return this.open.get(transport)?.sessions ?? 0;
  }

  request(transport: number, req: Http2Request): Promise<Http2Response> {
    if (!this.worker && !this.start()) {
      return Promise.reject(new TransportError('ConnectionError', `transport thread could not start: ${this.failure}`));
    }
    const seq = ++this.seq;
    this.outbox.push(transport, seq, req.path, req.method, req.headers, req.body, req.shared);
    if (!this.posting) {
      this.posting = true;
      // At the end of this turn of the loop rather than of this callback: the sends started by the answers and the
      // requests of one turn go in one message, and each message costs the main thread a wake-up of the thread.
      setImmediate(this.flushSoon);
    }
    return new Promise<Http2Response>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

  private readonly flushSoon = (): void => this.flush();

  private flush(): void {
    this.posting = false;
    const requests = this.outbox;
    this.outbox = [];
    if (requests.length > 0) this.post({ op: 'send', requests });
  }

  ping(transport: number): void {
    if (this.worker) this.post({ op: 'ping', transport });
  }

  close(transport: number, graceMs?: number): Promise<void> {
    const entry = this.open.get(transport);
    if (!entry) return Promise.resolve();
    if (!this.worker) {
      this.open.delete(transport);
      return Promise.resolve();
    }
    this.flush();
    return new Promise<void>((resolve) => {
      entry.closed = resolve;
      this.post({ op: 'close', transport, graceMs });
    });
  }

  private receive(event: ThreadEvent): void {
    if (event.op === 'closed') {
      const entry = this.open.get(event.transport);
      this.open.delete(event.transport);
      this.stopIfIdle();
      entry?.closed?.();
      return;
    }
    for (const [transport, count] of event.sessions) {
      const entry = this.open.get(transport);
      if (entry) entry.sessions = count;
    }
    const sent = new Float64Array(event.sent, 0, event.sentCount);
    for (let i = 0; i < sent.length; i++) this.inbox.push(sent[i]);
    for (const reply of event.replies) this.inbox.push(reply);
    if (!this.delivering) {
      this.delivering = true;
      this.deliver();
    }
  }

  /**
   * Hands answers to their callers, {@link REPLY_BATCH} at a time: each one settles a push and starts the next, and
   * between batches the event loop gets back to its sockets, so that a request being accepted never waits behind
   * thousands of answers.
   */
  private deliver(): void {
    const end = Math.min(this.inbox.length, this.inboxHead + REPLY_BATCH);
    for (; this.inboxHead < end; this.inboxHead++) {
      const reply = this.inbox[this.inboxHead];
      const seq = typeof reply === 'number' ? reply : reply.seq;
      const waiting = this.waiting.get(seq);
      if (!waiting) continue;
      this.waiting.delete(seq);
      if (typeof reply === 'number') waiting.resolve(OK);
      else if ('error' in reply) {
        waiting.reject(reply.error === 'Error' ? new Error(reply.message) : new TransportError(reply.error, reply.message));
      } else {
        waiting.resolve(new Reply(reply.status, reply.headers, reply.body));
      }
    }
    if (this.inboxHead < this.inbox.length) {
      setImmediate(() => this.deliver());
      return;
    }
    this.inbox = [];
    this.inboxHead = 0;
    this.delivering = false;
    this.stopIfIdle();
  }

  /** With no transport open and nothing in flight the thread stops, so that a process done with its clients exits. */
  private stopIfIdle(): void {
    const worker = this.worker;
    if (!worker || this.open.size > 0 || this.waiting.size > 0 || this.outbox.length > 0) return;
    // Anything asked for from now on starts a new thread.
    this.worker = undefined;
    void worker.terminate();
  }
}

const threads: TransportThread[] = [];
let turn = 0;
let nextTransport = 0;

/** An {@link Http2Transport} living in a transport thread. */
export class ThreadedTransport implements Transport {
  private readonly id = ++nextTransport;

  constructor(
    options: Http2TransportOptions,
    private readonly thread: TransportThread,
  ) {
    thread.register(this.id, options);
  }

  get openSessions(): number {
    return this.thread.sessions(this.id);
  }

  get startFailure(): string | undefined {
    return this.thread.failure;
  }

  request(req: Http2Request): Promise<Http2Response> {
    return this.thread.request(this.id, req);
  }

  ping(): void {
    this.thread.ping(this.id);
  }

  close(graceMs?: number): Promise<void> {
    return this.thread.close(this.id, graceMs);
  }
}

/** Why a transport thread could not be started, while one cannot: pushes would be accepted and never sent. */
export function transportStartFailure(): string | undefined {
  return threads.find((t) => t.failure !== undefined)?.failure;
}

/**
 * One provider's connections spread over several transport threads, each holding a share of them: requests go to
 * the shares in turn, so that a single busy provider keeps more than one thread at work.
 */
export class SpreadTransport implements Transport {
  private next = 0;

  constructor(readonly shares: readonly ThreadedTransport[]) {}

  get openSessions(): number {
    return this.shares.reduce((sum, share) => sum + share.openSessions, 0);
  }

  get startFailure(): string | undefined {
    return this.shares.find((share) => share.startFailure !== undefined)?.startFailure;
  }

  request(req: Http2Request): Promise<Http2Response> {
    const share = this.shares[this.next];
    this.next = (this.next + 1) % this.shares.length;
    return share.request(req);
  }

  ping(): void {
    for (const share of this.shares) share.ping();
  }

  async close(graceMs?: number): Promise<void> {
    await Promise.all(this.shares.map((share) => share.close(graceMs)));
  }
}

/**
 * The transport for one provider client: in the main thread when `threads` is 0; otherwise in the transport threads
 * (shared by all clients), its connections spread over as many of them as it has connections, up to `threads`.
 */
export function createTransport(options: Http2TransportOptions, threadCount: number): Transport {
  if (threadCount <= 0) return new Http2Transport(options);
  while (threads.length < threadCount) threads.push(new TransportThread());
  const parts = Math.max(1, Math.min(threadCount, options.sessions));
  const shares = Array.from({ length: parts }, (_, i) => {
    const sessions = Math.floor(options.sessions / parts) + (i < options.sessions % parts ? 1 : 0);
    return new ThreadedTransport({ ...options, sessions }, threads[turn++ % threadCount]);
  });
  return shares.length === 1 ? shares[0] : new SpreadTransport(shares);
}
