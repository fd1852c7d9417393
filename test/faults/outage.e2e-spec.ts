import { android, ios } from '../support/gateway';
import { nothingLost, stats, trackCrashes, withGateway } from './faults';

const crashes = trackCrashes();

describe('a full provider outage', () => {
  it('keeps liveness and readiness up and accepts pushes up to the queue capacity; nothing is lost after', async () => {
    const env = {
      PUSHGATE_CORE_QUEUES: '40',
      PUSHGATE_CORE_WORKERS: '1',
      PUSHGATE_CORE_PUSHER_MAX: '0',
      PUSHGATE_IOS_RETRY_MAX: '8',
      PUSHGATE_ANDROID_RETRY_MAX: '8',
    };
    await withGateway(crashes, env, async (sim, gw) => {
      sim.outage(true);
      let accepted = 0;
      let refused = 0;
      for (let i = 0; i < 60 && refused === 0; i++) {
        const res = await gw.http.post('/push').send({ notifications: [i % 2 ? ios([`o${i}`]) : android([`o${i}`])] });
        if (res.status === 200) accepted++;
        else {
          expect(res.status).toBe(503);
          expect(res.headers['retry-after']).toBe('1');
          refused++;
        }
        await gw.http.get('/health/live').expect(200);
        if ((await stats(gw)).queue_usage < 36) {
          const ready = await gw.http.get('/health/ready').expect(200);
          expect(ready.body.details.apns.status).toBe('up');
          expect(ready.body.details.fcm.status).toBe('up');
        }
      }
      expect(accepted).toBeGreaterThanOrEqual(40);
      expect(refused).toBe(1);
      expect(sim.counts().apns.total + sim.counts().fcm.total).toBe(0);
      sim.outage(false);
      const s = await nothingLost(gw, 30_000);
      expect(s.accepted).toBe(accepted);
      expect(s.ios.push_success + s.android.push_success).toBe(accepted);
    });
  });
});
