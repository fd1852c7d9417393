import { createServer, type AddressInfo } from 'node:net';
import { ApnsService } from '../../src/apns/apns.service';
import { Simulator } from '../../src/simulator/simulator';
import { ios, type Gateway, pushAccepted } from '../support/gateway';
import { waitFor } from '../support/wait';
import { captureSessions, nothingLost, stats, tokens, trackCrashes, withGateway as withFreshGateway } from './faults';

const crashes = trackCrashes();

/** A gateway delivering to iOS only. */
function withGateway(env: Record<string, string>, run: (sim: Simulator, gw: Gateway) => Promise<void>, latencyMs = 0): Promise<void> {
  return withFreshGateway(crashes, { PUSHGATE_ANDROID_ENABLED: 'false', ...env }, run, { latencyMs });
}

describe('APNs faults: nothing is lost', () => {
  it('GOAWAY with streams in flight: the refused streams are retried on a new connection', async () => {
    await withGateway(
      { PUSHGATE_IOS_RETRY_MAX: '3', PUSHGATE_IOS_KEEPALIVE_CONNS: '2' },
      async (sim, gw) => {
        await pushAccepted(gw, ios(tokens('goaway', 60)));
        // The simulator holds its answers back, so the sends in flight once it holds a connection are all refused.
        await waitFor(async () => (await stats(gw)).pusher_count > 0 && sim.goaway('apns') > 0, {
          timeoutMs: 10_000,
          what: 'a GOAWAY on a connection carrying sends',
        });
        sim.latencyMs = 0;
        const s = await nothingLost(gw);
        expect(s.ios).toEqual(expect.objectContaining({ push_success: 60, errors: {} }));
        expect(s.ios.retries).toBeGreaterThan(0);
      },
      1000,
    );
  });

  it('a connection that goes silent: requests hit the deadline, the PING probe fails, the connection is replaced', async () => {
    await withGateway({ PUSHGATE_IOS_RETRY_MAX: '3', PUSHGATE_IOS_TIMEOUT: '1', PUSHGATE_IOS_KEEPALIVE_CONNS: '1' }, async (sim, gw) => {
      await pushAccepted(gw, ios(['warm-up']));
      await nothingLost(gw);
      expect(sim.stall('apns')).toBe(1);
      await pushAccepted(gw, ios(tokens('stalled', 20)));
      const s = await nothingLost(gw);
      expect(s.ios.push_success).toBe(21);
      expect(s.ios.retries).toBeGreaterThanOrEqual(20);
      expect(sim.records().filter((r) => r.token.startsWith('stalled-')).length).toBe(20);
    });
  });

  it('one stream that never answers times out alone: the connection answers PING and is kept', async () => {
    const captured = captureSessions();
    try {
      await withGateway(
        { PUSHGATE_IOS_RETRY_MAX: '0', PUSHGATE_IOS_TIMEOUT: '1', PUSHGATE_IOS_KEEPALIVE_CONNS: '1', PUSHGATE_CORE_TRANSPORT_THREADS: '0' },
        async (_sim, gw) => {
          await pushAccepted(gw, ios(['sim-hang-1', 'ok-1']));
          const s = await nothingLost(gw);
          expect(s.ios.errors).toEqual({ Timeout: 1 });
          expect(captured.sessions).toHaveLength(1);
          const [connection] = captured.sessions;
          // The timeout sends a PING probe; once it is answered the connection is known to be alive.
          await waitFor(() => connection.pingsSent > 0 && connection.pingsAnswered === connection.pingsSent, {
            what: 'the PING probe answered',
          });
          expect(connection.session.destroyed).toBe(false);
          expect(gw.app.get(ApnsService).client!.transport.openSessions).toBe(1);
          await pushAccepted(gw, ios(['ok-2']));
          expect((await nothingLost(gw)).ios.push_success).toBe(2);
          expect(captured.sessions).toHaveLength(1);
        },
      );
    } finally {
      captured.restore();
    }
  });

  it('a connection that answers 500 to everything is recycled after a few', async () => {
    await withGateway({ PUSHGATE_IOS_RETRY_MAX: '1', PUSHGATE_IOS_KEEPALIVE_CONNS: '1' }, async (sim, gw) => {
      await pushAccepted(gw, ios(['warm-up']));
      await nothingLost(gw);
      expect(sim.breakConnections('apns', 500)).toBe(1);
      await pushAccepted(gw, ios(tokens('broken', 20)));
      const s = await nothingLost(gw);
      // Without recycling every retry would go to the broken connection again and fail.
      expect(s.ios.push_success).toBe(21);
      expect(sim.counts().apns.errors.InternalServerError).toBeGreaterThanOrEqual(3);
    });
  });

  it('SETTINGS_MAX_CONCURRENT_STREAMS dropped to 1 and raised again', async () => {
    const captured = captureSessions();
    const settled = (max: number): Promise<void> =>
      waitFor(() => captured.sessions.every(({ session }) => session.destroyed || session.remoteSettings.maxConcurrentStreams === max), {
        what: `the gateway's connections seeing SETTINGS_MAX_CONCURRENT_STREAMS ${max}`,
      });
    /** Time between consecutive arrivals at the simulator of the pushes whose tokens start with `prefix`. */
    const gaps = (sim: Simulator, prefix: string): number[] => {
      const at = sim
        .records()
        .filter((r) => r.token.startsWith(prefix))
        .map((r) => r.at)
        .sort((a, b) => a - b);
      return at.slice(1).map((t, i) => t - at[i]);
    };
    try {
      await withGateway(
        { PUSHGATE_IOS_RETRY_MAX: '2', PUSHGATE_IOS_KEEPALIVE_CONNS: '1', PUSHGATE_CORE_TRANSPORT_THREADS: '0' },
        async (sim, gw) => {
          await pushAccepted(gw, ios(['warm-up']));
          await nothingLost(gw);
          expect(captured.sessions).toHaveLength(1);
          sim.setMaxConcurrentStreams('apns', 1);
          await settled(1);
          await pushAccepted(gw, ios(tokens('one-stream', 20)));
          let s = await nothingLost(gw);
          expect(s.ios.push_success).toBe(21);
          // One stream at a time: each push reaches the simulator only once the one before was answered, 50 ms later.
          expect(gaps(sim, 'one-stream-')).toHaveLength(19);
          expect(Math.min(...gaps(sim, 'one-stream-'))).toBeGreaterThanOrEqual(45);
          sim.setMaxConcurrentStreams('apns', 1000);
          await settled(1000);
          await pushAccepted(gw, ios(tokens('many-streams', 20)));
          s = await nothingLost(gw);
          expect(s.ios.push_success).toBe(41);
          // Streams side by side again: pushes arrive while those before them still wait for their answers.
          expect(Math.min(...gaps(sim, 'many-streams-'))).toBeLessThan(45);
        },
        50,
      );
    } finally {
      captured.restore();
    }
  });

  it('429 for one token while the others succeed at once, without waiting for its retries', async () => {
    // Five retries, each after a growing backoff, keep the throttled token busy for seconds.
    await withGateway({ PUSHGATE_IOS_RETRY_MAX: '5' }, async (sim, gw) => {
      await pushAccepted(gw, ios(['sim-TooManyRequests-x', ...tokens('fine', 20)]));
      const s = await nothingLost(gw);
      expect(s.ios).toEqual(expect.objectContaining({ push_success: 20, push_error: 1, retries: 5, errors: { TooManyRequests: 1 } }));
      const fine = sim.records().filter((r) => r.token.startsWith('fine-'));
      expect(fine.length).toBe(20);
      const throttled = sim.records().filter((r) => r.token === 'sim-TooManyRequests-x');
      expect(throttled.length).toBe(6);
      // Held behind the throttled token, the others would reach APNs after its last attempt at the earliest.
      expect(Math.max(...fine.map((r) => r.at))).toBeLessThan(throttled[throttled.length - 1].at);
    });
  });

  it('TLS handshake failures: pushes are retried until handshakes succeed again', async () => {
    await withGateway({ PUSHGATE_IOS_RETRY_MAX: '6' }, async (sim, gw) => {
      sim.failTls('apns', true);
      await pushAccepted(gw, ios(tokens('tls', 10)));
      await waitFor(async () => (await stats(gw)).ios.retries > 0, { what: 'a retry after a failed handshake' });
      expect(sim.counts().apns.total).toBe(0);
      sim.failTls('apns', false);
      const s = await nothingLost(gw);
      expect(s.ios.push_success).toBe(10);
    });
  });

  /** A port nothing listens on: a connection to it is refused at once. */
  async function closedPort(): Promise<string> {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    return `127.0.0.1:${port}`;
  }

  // A black-holed address never completes the connection (the deadline and the probe must end it), or the network
  // refuses the route at once, as where there is none: either is a transport failure.
  it.each([
    { host: 'a closed port', endpoint: closedPort, retries: '2', pushes: 10, reasons: ['ConnectionError'] },
    {
      host: 'a black-holed address',
      endpoint: () => Promise.resolve('192.0.2.1:443'),
      retries: '1',
      pushes: 5,
      reasons: ['ConnectionError', 'Timeout'],
    },
  ])(
    'the host unreachable ($host): every push ends failed with a transport reason, none hangs',
    async ({ endpoint, retries, pushes, reasons }) => {
      const env = { PUSHGATE_IOS_RETRY_MAX: retries, PUSHGATE_IOS_TIMEOUT: '1', PUSHGATE_IOS_ENDPOINT: await endpoint() };
      await withGateway(env, async (_sim, gw) => {
        await pushAccepted(gw, ios(tokens('unreachable', pushes)));
        const s = await nothingLost(gw);
        expect(s.ios.push_error).toBe(pushes);
        expect(Object.keys(s.ios.errors).filter((reason) => !reasons.includes(reason))).toEqual([]);
      });
    },
  );
});
