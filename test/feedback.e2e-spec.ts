import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Simulator } from '../src/simulator/simulator';
import { android, eventually, ios, startGateway, type Gateway } from './support/gateway';

const SECRET = 'feedback-e2e-secret';

interface InvalidToken {
  token: string;
  platform: string;
  reason: string;
  timestamp: string;
  identifier?: string;
}

interface Delivery {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  tokens: InvalidToken[];
}

/** The token owner's webhook: refuses the first POST with a 500, accepts the rest. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = deliveries.length === 0 ? 500 : 200;
      const tokens = (JSON.parse(body) as { invalid_tokens: InvalidToken[] }).invalid_tokens;
      deliveries.push({ status, headers: req.headers, body, tokens });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/pushgate/invalid-tokens`, deliveries, server };
}

function metric(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const DEAD = ['sim-Unregistered-fb1', 'sim-UNREGISTERED-fb5', 'sim-INVALID_ARGUMENT-fb6', 'sim-SENDER_ID_MISMATCH-fb8'];
const NOT_DEAD = [
  'fb-ok-1',
  'sim-PayloadTooLarge-fb2',
  'sim-BadTopic-fb3',
  'sim-InvalidProviderToken-fb4',
  'fb-ok-2',
  'sim-THIRD_PARTY_AUTH_ERROR-fb7',
];

describe('invalid-token feedback against the simulator', () => {
  let sim: Simulator;
  let gw: Gateway;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let started: number;

  beforeAll(async () => {
    sim = await Simulator.start();
    receiver = await startReceiver();
    gw = await startGateway(sim, {
      PUSHGATE_FEEDBACK_WEBHOOK_URL: receiver.url,
      PUSHGATE_FEEDBACK_WEBHOOK_SECRET: SECRET,
      PUSHGATE_FEEDBACK_FLUSH_INTERVAL: '1',
    });
    started = Date.now();
    await gw.http
      .post('/push')
      .send({
        notifications: [
          ios(['fb-ok-1', 'sim-Unregistered-fb1', 'sim-PayloadTooLarge-fb2', 'sim-BadTopic-fb3', 'sim-InvalidProviderToken-fb4'], {
            identifier: 'campaign-7',
          }),
          android([
            'fb-ok-2',
            'sim-UNREGISTERED-fb5',
            'sim-INVALID_ARGUMENT-fb6',
            'sim-THIRD_PARTY_AUTH_ERROR-fb7',
            'sim-SENDER_ID_MISMATCH-fb8',
          ]),
        ],
      })
      .expect(200);
    await sim.waitFor(10, 5000);
  });
  afterAll(async () => {
    await gw.close();
    await sim.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('a dead token reaches the webhook once, signed, after a failed first delivery attempt; payload and credential errors never do', async () => {
    const { deliveries } = receiver;
    const accepted = (): InvalidToken[] => deliveries.filter((d) => d.status === 200).flatMap((d) => d.tokens);
    await eventually(() => accepted().length >= DEAD.length, 15_000);
    // Long enough for a batch that should not exist to be flushed and sent.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(deliveries[0].status).toBe(500);
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(
      accepted()
        .map((t) => t.token)
        .sort(),
    ).toEqual([...DEAD].sort());
    for (const t of deliveries[0].tokens) expect(accepted().map((a) => a.token)).toContain(t.token);
    for (const token of NOT_DEAD) expect(deliveries.some((d) => d.body.includes(token))).toBe(false);

    const byToken = new Map(accepted().map((t) => [t.token, t]));
    expect(byToken.get('sim-Unregistered-fb1')).toEqual(
      expect.objectContaining({ platform: 'ios', reason: 'Unregistered', identifier: 'campaign-7' }),
    );
    expect(byToken.get('sim-UNREGISTERED-fb5')).toEqual(expect.objectContaining({ platform: 'android', reason: 'UNREGISTERED' }));
    expect(byToken.get('sim-UNREGISTERED-fb5')!.identifier).toBeUndefined();
    expect(byToken.get('sim-INVALID_ARGUMENT-fb6')!.reason).toBe('INVALID_ARGUMENT');
    expect(byToken.get('sim-SENDER_ID_MISMATCH-fb8')!.reason).toBe('SENDER_ID_MISMATCH');
    for (const t of accepted()) {
      const at = Date.parse(t.timestamp);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }

    for (const d of deliveries) {
      const timestamp = d.headers['x-pushgate-timestamp'] as string;
      const expected = createHmac('sha256', SECRET).update(`${timestamp}.${d.body}`).digest('hex');
      expect(d.headers['x-pushgate-signature']).toBe(`sha256=${expected}`);
      expect(createHmac('sha256', 'another-secret').update(`${timestamp}.${d.body}`).digest('hex')).not.toBe(expected);
    }

    const metrics = (await gw.http.get('/metrics').expect(200)).text;
    expect(metric(metrics, 'pushgate_feedback_webhook_requests_total{result="failure"}')).toBe(1);
    expect(metric(metrics, 'pushgate_feedback_webhook_requests_total{result="success"}')).toBe(deliveries.length - 1);
    expect(metric(metrics, 'pushgate_feedback_webhook_delivered_total')).toBe(DEAD.length);
    expect(metric(metrics, 'pushgate_feedback_webhook_dropped_total')).toBe(0);
    expect(metric(metrics, 'pushgate_feedback_webhook_backlog')).toBe(0);
    expect(metric(metrics, 'pushgate_feedback_invalid_tokens_total{platform="ios",reason="Unregistered"}')).toBe(1);
    expect(metric(metrics, 'pushgate_feedback_invalid_tokens_total{platform="android",reason="INVALID_ARGUMENT"}')).toBe(1);
    expect(metrics).not.toContain('fb1');
  });

  it('GET /feedback/invalid-tokens returns the recent dead tokens, filtered by time and count', async () => {
    const all = (await gw.http.get('/feedback/invalid-tokens').expect(200)).body as { invalid_tokens: InvalidToken[] };
    expect(all.invalid_tokens.map((t) => t.token).sort()).toEqual([...DEAD].sort());
    const times = all.invalid_tokens.map((t) => Date.parse(t.timestamp));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const newest = all.invalid_tokens[all.invalid_tokens.length - 1];
    const since = (await gw.http.get('/feedback/invalid-tokens').query({ since: newest.timestamp }).expect(200)).body as {
      invalid_tokens: InvalidToken[];
    };
    expect(since.invalid_tokens.map((t) => t.token)).toContain(newest.token);
    expect(since.invalid_tokens.every((t) => Date.parse(t.timestamp) >= Date.parse(newest.timestamp))).toBe(true);
    await gw.http
      .get('/feedback/invalid-tokens')
      .query({ since: new Date(Date.now() + 60_000).toISOString() })
      .expect(200, { invalid_tokens: [] });
    const one = (await gw.http.get('/feedback/invalid-tokens').query({ limit: 1 }).expect(200)).body as { invalid_tokens: InvalidToken[] };
    expect(one.invalid_tokens).toEqual([all.invalid_tokens[0]]);

    await gw.http.get('/feedback/invalid-tokens').query({ since: 'yesterday' }).expect(400);
    await gw.http.get('/feedback/invalid-tokens').query({ limit: 0 }).expect(400);
    await gw.http.get('/feedback/invalid-tokens').query({ token: 'x' }).expect(400);
  });
});

describe('invalid-token feedback without webhook or history', () => {
  it('still counts dead tokens; the history endpoint answers 404 when turned off', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim, { PUSHGATE_FEEDBACK_HISTORY_SIZE: '0' });
    try {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['sim-ExpiredToken-nh'])] })
        .expect(200);
      await eventually(async () => {
        const text = (await gw.http.get('/metrics').expect(200)).text;
        return metric(text, 'pushgate_feedback_invalid_tokens_total{platform="ios",reason="ExpiredToken"}') === 1;
      });
      const res = await gw.http.get('/feedback/invalid-tokens').expect(404);
      expect(res.body.message).toMatch(/history_size = 0/);
      expect((await gw.http.get('/metrics').expect(200)).text).not.toContain('pushgate_feedback_webhook_backlog');
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
