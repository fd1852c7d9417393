import { Simulator, type SimulatorOptions } from '../src/simulator/simulator';
import { UNKNOWN_FATE_REASON, unfinishedPushes } from '../src/cli/recover.command';
import { ApnsService } from '../src/apns/apns.service';
import { FcmService } from '../src/fcm/fcm.service';
import { PushCounters } from '../src/push/push.counters';
import { android, ios, readLog, startGateway, type Gateway } from './support/gateway';
import { waitFor } from './support/wait';

/** One worker, a second to finish at shutdown, and iOS sends that may hang far longer than that. */
const SHORT_SHUTDOWN = { PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1', PUSHGATE_IOS_TIMEOUT: '30' };

/**
 * A simulator and a gateway on it: the test stops the gateway itself, since how it stops is what it checks; the
 * simulator is closed after, whatever the test does.
 */
async function stoppedInTest(
  env: Record<string, string>,
  simulator: SimulatorOptions,
  run: (sim: Simulator, gw: Gateway, counters: PushCounters) => Promise<void>,
): Promise<void> {
  const sim = await Simulator.start(simulator);
  try {
    const gw = await startGateway(sim, env);
    await run(sim, gw, gw.app.get(PushCounters));
  } finally {
    await sim.close();
  }
}

describe('graceful shutdown', () => {
  it('drains the queue before the provider clients close, and every push ends succeeded', async () => {
    const env = { PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '4', PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '20' };
    await stoppedInTest(env, { latencyMs: 100 }, async (sim, gw, counters) => {
      const finishedAtClose: number[] = [];
      for (const service of [gw.app.get(ApnsService), gw.app.get(FcmService)]) {
        const close = service.onApplicationShutdown.bind(service);
        jest.spyOn(service, 'onApplicationShutdown').mockImplementation(() => {
          finishedAtClose.push(counters.finished);
          return close();
        });
      }
      const tokens = Array.from({ length: 30 }, (_, i) => `drain-${i}`);
      await gw.http
        .post('/push')
        .send({ notifications: [ios(tokens.slice(0, 15)), android(tokens.slice(15))] })
        .expect(200);
      expect(counters.finished).toBeLessThan(30);
      await gw.close();
      expect(finishedAtClose).toEqual([30, 30]);
      expect(counters.ios.push_success + counters.android.push_success).toBe(30);
      expect(sim.counts().apns.ok + sim.counts().fcm.ok).toBe(30);
    });
  });

  it('logs what it could not deliver within shutdown_timeout as failed-push (Shutdown, or ShutdownInFlight when sent); nothing is lost silently', async () => {
    await stoppedInTest({ ...SHORT_SHUTDOWN, PUSHGATE_CORE_PUSHER_MAX: '1' }, {}, async (_sim, gw, counters) => {
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['sim-hang-1', 'sim-hang-2', 'queued-3', 'queued-4'])] })
        .expect(200);
      const started = Date.now();
      await gw.close();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(counters.ios.errors).toEqual({ Shutdown: 2, ShutdownInFlight: 2 });
      expect(counters.finished).toBe(4);
      await waitFor(() => readLog(gw.accessLog).filter((l) => l.type === 'failed-push').length >= 4, { what: 'the failed pushes logged' });
      const log = readLog(gw.accessLog);
      const failed = log.filter((l) => l.type === 'failed-push');
      expect(failed).toHaveLength(4);
      // Push ids end with the token's index: the two hanging ones (0, 1) were sent, the others never were.
      const indexes = (error: string): string[] =>
        failed
          .filter((l) => l.error === error)
          .map((l) => String(l.id).split('-').pop()!)
          .sort();
      expect(indexes('ShutdownInFlight')).toEqual(['0', '1']);
      expect(indexes('Shutdown')).toEqual(['2', '3']);
      const accepted = log.filter((l) => l.type === 'accepted-push').map((l) => l.id);
      expect(new Set(failed.map((l) => l.id))).toEqual(new Set(accepted));
    });
  });

  it('logs sends the provider received and had not answered at the deadline as ShutdownInFlight, which recover leaves alone', async () => {
    const env = { ...SHORT_SHUTDOWN, PUSHGATE_CORE_PUSHER_MAX: '9', PUSHGATE_CORE_LOG_FULL_TOKEN: 'true' };
    await stoppedInTest(env, {}, async (sim, gw, counters) => {
      const onWire = Array.from({ length: 10 }, (_, i) => `sim-hang-wire${i}`);
      const queued = Array.from({ length: 5 }, (_, i) => `queued-${i}`);
      await gw.http
        .post('/push')
        .send({ notifications: [ios([...onWire, ...queued])] })
        .expect(200);
      // The simulator records a held request when it arrives: all ten are at the provider before the stop.
      await waitFor(() => sim.records().filter((r) => r.status === 0).length === 10, { what: 'ten sends held by the provider' });
      await gw.close();
      expect(counters.ios.errors).toEqual({ Shutdown: 5, ShutdownInFlight: 10 });
      await waitFor(() => readLog(gw.accessLog).filter((l) => l.type === 'failed-push').length >= 15, { what: 'the failed pushes logged' });
      const failed = readLog(gw.accessLog).filter((l) => l.type === 'failed-push');
      const tokensWith = (error: string): string[] =>
        failed
          .filter((l) => l.error === error)
          .map((l) => String(l.token))
          .sort();
      expect(tokensWith('ShutdownInFlight')).toEqual([...onWire].sort());
      expect(tokensWith('Shutdown')).toEqual([...queued].sort());

      const recoverable = (await unfinishedPushes([gw.accessLog])).map((p) => p.token).sort();
      expect(recoverable).toEqual([...queued].sort());
      const withUnknown = (await unfinishedPushes([gw.accessLog], new Set([UNKNOWN_FATE_REASON]))).map((p) => p.token).sort();
      expect(withUnknown).toEqual([...onWire, ...queued].sort());
    });
  });

  it('refuses new pushes with 503 and reports not ready once shutdown has begun', async () => {
    await stoppedInTest({ PUSHGATE_CORE_SHUTDOWN_DELAY: '1' }, {}, async (sim, gw) => {
      const server = gw.app.getHttpServer() as import('node:http').Server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const closing = gw.close();
      const port = (server.address() as { port: number }).port;
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 503, { what: 'readiness down' });
      const live = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(live.status).toBe(200);
      const push = await fetch(`http://127.0.0.1:${port}/push`, {
        method: 'POST',
        body: JSON.stringify({ notifications: [ios(['late'])] }),
      });
      expect(push.status).toBe(503);
      await closing;
      expect(sim.counts().apns.total).toBe(0);
    });
  });
});
