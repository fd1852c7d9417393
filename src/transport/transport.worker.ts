import { parentPort } from 'node:worker_threads';
import { Http2Transport, TransportError, type Http2Request } from './http2.transport';
import type { ThreadCommand, ThreadEvent, ThreadReply, ThreadRequests } from './threaded.transport';

/**
 * The connections of one transport thread: every {@link Http2Transport} opened by the main thread lives here,
 * with its TLS and HTTP/2 work, and answers go back in batches, one message per turn of this thread's loop.
 */
const port = parentPort!;

const transports = new Map<number, Http2Transport>();
/** Requests answered 200, by sequence number: the common answer travels as numbers in a transferred buffer. */
let sent = new Float64Array(1024);
let sentCount = 0;
/** Every other answer. */
let replies: ThreadReply[] = [];
let flushing = false;
/** Entries per request in a `send` command (see {@link ThreadRequests}). */
const REQUEST_FIELDS = 7;

function flush(): void {
  flushing = false;
  const batch = replies;
  replies = [];
  const sessions: [number, number][] = [];
  for (const [id, transport] of transports) sessions.push([id, transport.openSessions]);
  const event: ThreadEvent = { op: 'replies', sent: sent.buffer, sentCount, replies: batch, sessions };
  const capacity = sent.length;
  port.postMessage(event, [event.sent]);
  sent = new Float64Array(capacity);
  sentCount = 0;
}

/** Posts the answers (and the connection counts) at the end of this turn of the loop. */
function flushSoon(): void {
  if (flushing) return;
  flushing = true;
  setImmediate(flush);
}

function reply(r: ThreadReply): void {
  replies.push(r);
  flushSoon();
}

function answered(seq: number): void {
  if (sentCount === sent.length) {
    const grown = new Float64Array(sent.length * 2);
    grown.set(sent);
    sent = grown;
  }
  sent[sentCount++] = seq;
  flushSoon();
}

function send(requests: ThreadRequests, at: number): void {
  const seq = requests[at + 1] as number;
  const transport = transports.get(requests[at] as number);
  if (!transport) {
    reply({ seq, error: 'ConnectionError', message: 'transport closed' });
    return;
  }
  const req: Http2Request = {
    path: requests[at + 2] as string,
    method: requests[at + 3] as string,
    headers: requests[at + 4] as Http2Request['headers'],
    body: requests[at + 5] as string | undefined,
    shared: requests[at + 6] as Http2Request['shared'],
  };
  transport.send(req, (error, status, responseHeaders, text) => {
    if (error) reply({ seq, error: error instanceof TransportError ? error.reason : 'Error', message: error.message });
    else if (status === 200) answered(seq);
    else reply({ seq, status, headers: responseHeaders, body: text });
  });
}

port.on('message', (command: ThreadCommand) => {
  switch (command.op) {
    case 'open':
      transports.set(command.transport, new Http2Transport(command.options));
      break;
    case 'send':
      for (let at = 0; at < command.requests.length; at += REQUEST_FIELDS) send(command.requests, at);
      break;
    case 'ping':
      transports.get(command.transport)?.ping();
      flushSoon();
      break;
    case 'close': {
      const transport = transports.get(command.transport);
      transports.delete(command.transport);
      void (transport?.close(command.graceMs) ?? Promise.resolve()).then(() => {
        // The last answers go first: the main thread may stop this thread once it hears the transport closed.
        if (replies.length > 0 || sentCount > 0) flush();
        port.postMessage({ op: 'closed', transport: command.transport });
      });
      break;
    }
  }
});
