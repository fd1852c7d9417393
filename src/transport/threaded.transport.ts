import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
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
  request(req: Http2Request): Promise<Http2Response>;
  ping(): void;
  close(graceMs?: number): Promise<void>;
}

/** @internal One request, as posted to a transport thread. */
export interface ThreadRequest {
  transport: number;
  seq: number;
  path: string;
  method: string;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** @internal One answer: a response (headers and body only when it is not a 200) or a transport failure. */
export type ThreadReply =
  | { seq: number; status: number; headers?: IncomingHttpHeaders; body?: string }
  | { seq: number; error: TransportError['reason'] | 'Error'; message: string };

/** @internal Messages to a transport thread. */
export type ThreadCommand =
  | { op: 'open'; transport: number; options: Http2TransportOptions }
  | { op: 'send'; requests: ThreadRequest[] }
  | { op: 'ping'; transport: number }
  | { op: 'close'; transport: number; graceMs?: number };

/** @internal Messages from a transport thread. */
type ThreadEvent = { op: 'replies'; replies: ThreadReply[]; sessions: [number, number][] } | { op: 'closed'; transport: number };

const logger = new Logger('TransportThread');

/** Answers handed to their callers in one turn of the event loop at most. */
const REPLY_BATCH = 256;

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

/**
 * A worker thread holding HTTP/2 connections for any number of transports. Requests made in one turn of the main
 * thread's event loop travel in one message, answers come back the same way, so the TLS, HTTP/2 framing and socket
 * work of delivery runs beside the main thread (accepting requests, queueing, logging) instead of on it.
 */
class TransportThread {
  private worker?: Worker;
  private outbox: ThreadRequest[] = [];
  private posting = false;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Answers received and not yet handed to their callers. */
  private inbox: ThreadReply[] = [];
  private inboxHead = 0;
  private delivering = false;
  private readonly open = new Map<number, { options: Http2TransportOptions; sessions: number; closed?: () => void }>();

  private start(): Worker {
    const worker = new Worker(workerScript(), { name: 'pushgate-transport' });
    worker.unref();
    worker.on('message', (event: ThreadEvent) => this.receive(event));
    worker.on('error', (error: Error) => logger.error(`transport thread failed: ${error.message}`));
    worker.on('exit', () => this.lost(worker));
    for (const [transport, { options }] of this.open) worker.postMessage({ op: 'open', transport, options } satisfies ThreadCommand);
    this.worker = worker;
    return worker;
  }

  /** The thread ended (it crashed or was stopped): its requests failed without an answer, new ones start a new one. */
  private lost(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    // Requests not yet posted are failed too: posted to a new thread they would go out after all.
    this.outbox = [];
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new TransportError('ConnectionError', 'transport thread exited'));
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
    (this.worker ?? this.start()).postMessage(command);
  }

  register(transport: number, options: Http2TransportOptions): void {
    this.open.set(transport, { options, sessions: 0 });
    if (this.worker) this.post({ op: 'open', transport, options });
  }

  sessions(transport: number): number {
    return this.open.get(transport)?.sessions ?? 0;
  }

  request(transport: number, req: Http2Request): Promise<Http2Response> {
    if (!this.worker) this.start();
    const seq = ++this.seq;
    this.outbox.push({ transport, seq, path: req.path, method: req.method, headers: req.headers, body: req.body });
    if (!this.posting) {
      this.posting = true;
      queueMicrotask(() => this.flush());
    }
    return new Promise<Http2Response>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
  }

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
    if (this.inbox.length === 0) this.inbox = event.replies;
    else for (const reply of event.replies) this.inbox.push(reply);
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
      const waiting = this.waiting.get(reply.seq);
      if (!waiting) continue;
      this.waiting.delete(reply.seq);
      if ('error' in reply) {
        waiting.reject(reply.error === 'Error' ? new Error(reply.message) : new TransportError(reply.error, reply.message));
      } else {
        waiting.resolve(new Reply(reply.status, reply.headers ?? {}, reply.body ?? ''));
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

/**
 * The transport for one provider client: in one of `threads` transport threads (shared by all clients, assigned
 * in turn), or in the main thread when `threads` is 0.
 */
export function createTransport(options: Http2TransportOptions, threadCount: number): Transport {
  if (threadCount <= 0) return new Http2Transport(options);
  while (threads.length < threadCount) threads.push(new TransportThread());
  return new ThreadedTransport(options, threads[turn++ % threadCount]);
}
