import { Simulator } from '../src/simulator/simulator';
import { ApnsService } from '../src/apns/apns.service';
import { FcmService } from '../src/fcm/fcm.service';
import { PushCounters } from '../src/push/push.counters';
import { android, ios, readLog, startGateway } from './support/gateway';
import { waitFor } from './support/wait';

describe('graceful shutdown', () => {
  it('drains the queue before the provider clients close, and every push ends succeeded', async () => {
    const sim = await Simulator.start({ latencyMs: 100 });
    const gw = await startGateway(sim, { PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '4', PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '20' });
    const counters = gw.app.get(PushCounters);
    const finishedAtClose: number[] = [];
    for (const service of [gw.app.get(ApnsService), gw.app.get(FcmService)]) {
      const close = service.onApplicationShutdown.bind(service);
      jest.spyOn(service, 'onApplicationShutdown').mockImplementation(() => {
        finishedAtClose.push(counters.finished);
        return close();
      });
    }
    try {
      const tokens = Array.from({ length: 30 }, (_, i) => `drain-${i}`);
      await gw.http.post('/push').send({ notifications: [ios(tokens.slice(0, 15)), android(tokens.slice(15))] }).expect(200);
      expect(counters.finished).toBeLessThan(30);
      await gw.close();
      expect(finishedAtClose).toEqual([30, 30]);
      expect(counters.ios.push_success + counters.android.push_success).toBe(30);
      expect(sim.counts().apns.ok + sim.counts().fcm.ok).toBe(30);
    } finally {
      await sim.close();
    }
  });

  it('logs what it could not deliver within shutdown_timeout as failed-push (Shutdown); nothing is lost silently', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim, {
      PUSHGATE_CORE_WORKERS: '1',
      PUSHGATE_CORE_PUSHER_MAX: '1',
      PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '1',
      PUSHGATE_IOS_TIMEOUT: '30',
    });
    const counters = gw.app.get(PushCounters);
    try {
      await gw.http.post('/push').send({ notifications: [ios(['sim-hang-1', 'sim-hang-2', 'queued-3', 'queued-4'])] }).expect(200);
      const started = Date.now();
      await gw.close();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(counters.ios.errors).toEqual({ Shutdown: 4 });
      expect(counters.finished).toBe(4);
      await waitFor(() => readLog(gw.accessLog).filter((l) => l.type === 'failed-push').length >= 4, { what: 'the failed pushes logged' });
      const log = readLog(gw.accessLog);
      const failed = log.filter((l) => l.type === 'failed-push');
      expect(failed).toHaveLength(4);
      expect(failed.every((l) => l.error === 'Shutdown')).toBe(true);
      const accepted = log.filter((l) => l.type === 'accepted-push').map((l) => l.id);
      expect(new Set(failed.map((l) => l.id))).toEqual(new Set(accepted));
    } finally {
      await sim.close();
    }
  });

  it('refuses new pushes with 503 and reports not ready once shutdown has begun', async () => {
    const sim = await Simulator.start();
    const gw = await startGateway(sim, { PUSHGATE_CORE_SHUTDOWN_DELAY: '1' });
    const server = gw.app.getHttpServer() as import('node:http').Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const closing = gw.close();
      const port = (server.address() as { port: number }).port;
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 503, { what: 'readiness down' });
      const live = await fetch(`http://127.0.0.1:${port}/health/live`);
      expect(live.status).toBe(200);
      const push = await fetch(`http://127.0.0.1:${port}/push`, { method: 'POST', body: JSON.stringify({ notifications: [ios(['late'])] }) });
      expect(push.status).toBe(503);
      await closing;
      expect(sim.counts().apns.total).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
