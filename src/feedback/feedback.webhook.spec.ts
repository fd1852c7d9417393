import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../test/support/wait';
import type { InvalidTokenDto } from './feedback.dto';
import { FeedbackWebhook, type FeedbackWebhookOptions } from './feedback.webhook';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

const SECRET = 'test-secret';

/** A webhook receiver answering each POST with the next status of `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)];
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tokens`, received, server };
}

function tokens(body: string): string[] {
  return (JSON.parse(body) as { invalid_tokens: InvalidTokenDto[] }).invalid_tokens.map((t) => t.token);
}

const dead = (token: string): InvalidTokenDto => ({
  token,
  platform: 'android',
  app: 'default',
  reason: 'UNREGISTERED',
  timestamp: new Date().toISOString(),
});

describe('invalid-token webhook sender', () => {
  let server: Server | undefined;
  let webhook: FeedbackWebhook | undefined;
  const counts = { ok: 0, failed: 0, delivered: 0, dropped: 0 };
  const observer = {
    attempted: (ok: boolean) => (ok ? counts.ok++ : counts.failed++),
    delivered: (n: number) => (counts.delivered += n),
    dropped: (n: number) => (counts.dropped += n),
  };
  const start = (url: string, options: Partial<FeedbackWebhookOptions> = {}): FeedbackWebhook =>
    (webhook = new FeedbackWebhook(
      {
        url,
        secret: SECRET,
        batchSize: 2,
        flushIntervalMs: 30,
        bufferSize: 100,
        timeoutMs: 2000,
        backoff: { initialDelayMs: 50, maxDelayMs: 200 },
        ...options,
      },
      observer,
    ));

  beforeEach(() => Object.assign(counts, { ok: 0, failed: 0, delivered: 0, dropped: 0 }));
  afterEach(async () => {
    await webhook?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('posts batches of at most batch_size, each signed with HMAC-SHA256 over timestamp and body', async () => {
    const r = await receiver([200]);
    server = r.server;
    const hook = start(r.url);
    for (const t of ['a', 'b', 'c']) hook.add(dead(t));
    await waitFor(() => counts.delivered === 3, { intervalMs: 10 });
    expect(r.received.map((x) => tokens(x.body))).toEqual([['a', 'b'], ['c']]);
    for (const { headers, body } of r.received) {
      const timestamp = headers['x-pushgate-timestamp'] as string;
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
      const expected = createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex');
      expect(headers['x-pushgate-signature']).toBe(`sha256=${expected}`);
      expect(headers['content-type']).toBe('application/json');
    }
    expect(counts).toEqual({ ok: 2, failed: 0, delivered: 3, dropped: 0 });
  });

  it('retries a refused batch with backoff until a 2xx, then sends what waited meanwhile', async () => {
    const r = await receiver([503, 500, 200]);
    server = r.server;
    const hook = start(r.url, { batchSize: 1 });
    hook.add(dead('a'));
    await waitFor(() => r.received.length === 1, { intervalMs: 10 });
    hook.add(dead('b'));
    await waitFor(() => counts.delivered === 2, { intervalMs: 10 });
    expect(r.received.map((x) => [x.status, ...tokens(x.body)])).toEqual([
      [503, 'a'],
      [500, 'a'],
      [200, 'a'],
      [200, 'b'],
    ]);
    expect(counts).toEqual({ ok: 2, failed: 2, delivered: 2, dropped: 0 });
  });

  it('holds at most buffer_size tokens, dropping the oldest with a count; a waiting token is not queued twice', async () => {
    const r = await receiver([200]);
    server = r.server;
    const hook = start(r.url, { batchSize: 10, bufferSize: 3 });
    for (const t of ['a', 'b', 'b', 'c', 'd', 'e']) hook.add(dead(t));
    expect(hook.backlog).toBe(3);
    expect(counts.dropped).toBe(2);
    await waitFor(() => counts.delivered === 3, { intervalMs: 10 });
    expect(r.received.map((x) => tokens(x.body))).toEqual([['c', 'd', 'e']]);
  });

  it('on close makes one last attempt at everything held and reports what it could not deliver', async () => {
    const r = await receiver([200]);
    server = r.server;
    const hook = start(r.url, { batchSize: 10, flushIntervalMs: 60_000 });
    hook.add(dead('a'));
    hook.add(dead('b'));
    expect(await hook.close()).toBe(0);
    expect(r.received.map((x) => tokens(x.body))).toEqual([['a', 'b']]);
    hook.add(dead('c'));
    expect(hook.backlog).toBe(0);

    const down = await receiver([503]);
    const other = start(down.url, { batchSize: 10, flushIntervalMs: 60_000 });
    other.add(dead('x'));
    expect(await other.close()).toBe(1);
    await new Promise((resolve) => down.server.close(resolve));
  });
});
