import { Simulator, type SimulatorOptions } from '../src/simulator/simulator';
import {
  android,
  eventually,
  ios,
  namedAppEnv,
  readLog,
  receivedTokens,
  scopedKeysEnv,
  startGateway,
  type Gateway,
} from './support/gateway';

interface PlatformStats {
  push_success: number;
  push_error: number;
  errors: Record<string, number>;
}
interface Stats {
  queue_usage: number;
  ios: PlatformStats;
  android: PlatformStats;
  apps: Record<string, { ios: PlatformStats; android: PlatformStats; in_flight: number; parked: number }>;
}

interface TwoApps {
  /** The default app's provider. */
  simA: Simulator;
  /** `brand_b`'s provider: another APNs team and topic, another Firebase project. */
  simB: Simulator;
  gw: Gateway;
}

/**
 * A gateway with two apps, each on a simulator of its own, for the enclosing `describe`. `env` adds to the
 * default app's keys; it is given `brand_b`'s simulator, whose credentials it names.
 */
function twoAppsForSuite(
  use: (started: TwoApps) => void,
  env: (simB: Simulator) => Record<string, string>,
  options: [SimulatorOptions, SimulatorOptions] = [{}, {}],
): void {
  let started: Partial<TwoApps> = {};
  beforeAll(async () => {
    const [simA, simB] = await Promise.all(options.map((o) => Simulator.start(o)));
    started = { simA, simB };
    started.gw = await startGateway(simA, env(simB));
    use(started as TwoApps);
  });
  afterAll(async () => {
    await started.gw?.close();
    await Promise.all([started.simA?.close(), started.simB?.close()]);
  });
}

async function stats(gw: Gateway): Promise<Stats> {
  return (await gw.http.get('/stat/app').expect(200)).body as Stats;
}

describe('several apps in one gateway: named credential sets chosen per notification', () => {
  let simA: Simulator;
  let simB: Simulator;
  let gw: Gateway;
  twoAppsForSuite(
    (started) => ({ simA, simB, gw } = started),
    (simB) => ({
      ...namedAppEnv(simB, 'brand_b'),
      // Eight senders in all: without per-app limits, eight hanging pushes of one app would hold every one.
      PUSHGATE_CORE_WORKERS: '1',
      PUSHGATE_CORE_PUSHER_MAX: '7',
      PUSHGATE_CORE_SHUTDOWN_TIMEOUT: '0',
      PUSHGATE_IOS_TIMEOUT: '3',
      PUSHGATE_IOS_RETRY_MAX: '0',
    }),
    [
      { topic: 'com.example.brand-a', fcmProject: 'brand-a' },
      { topic: 'com.example.brand-b', fcmProject: 'brand-b' },
    ],
  );

  it('sends each notification with its app’s APNs team and topic and its Firebase project, counted and logged by app', async () => {
    await gw.http
      .post('/push')
      .send({
        notifications: [
          ios(['a-ios-1']),
          android(['a-android-1']),
          ios(['b-ios-1', 'b-ios-2'], { app: 'brand_b' }),
          android(['b-android-1'], { app: 'brand_b' }),
          ios(['a-ios-2'], { app: 'default' }),
        ],
      })
      .expect(200);
    await eventually(async () => {
      const s = await stats(gw);
      return s.ios.push_success + s.android.push_success === 6;
    });

    const a = simA.records();
    const b = simB.records();
    expect(a.map((r) => r.token).sort()).toEqual(['a-android-1', 'a-ios-1', 'a-ios-2']);
    expect(b.map((r) => r.token).sort()).toEqual(['b-android-1', 'b-ios-1', 'b-ios-2']);
    for (const [sim, records, topic, project] of [
      [simA, a, 'com.example.brand-a', 'brand-a'],
      [simB, b, 'com.example.brand-b', 'brand-b'],
    ] as const) {
      for (const r of records.filter((x) => x.platform === 'ios')) {
        expect(r.status).toBe(200);
        expect(r.auth).toEqual({ kind: 'jwt', keyId: sim.credentials.apns.keyId, teamId: sim.credentials.apns.teamId });
        expect(r.headers['apns-topic']).toBe(topic);
      }
      for (const r of records.filter((x) => x.platform === 'android')) {
        expect(r.status).toBe(200);
        expect(r.auth).toEqual({ kind: 'oauth', project });
      }
    }
    expect(simA.credentials.apns.teamId).not.toBe(simB.credentials.apns.teamId);

    const metrics = (await gw.http.get('/metrics').expect(200)).text;
    expect(metrics).toContain('pushgate_app_pushes_total{app="brand_b",platform="ios",outcome="succeeded"} 2');
    expect(metrics).toContain('pushgate_app_pushes_total{app="default",platform="android",outcome="succeeded"} 1');

    const s = await stats(gw);
    expect(s.apps.default.ios.push_success).toBe(2);
    expect(s.apps.default.android.push_success).toBe(1);
    expect(s.apps.brand_b.ios.push_success).toBe(2);
    expect(s.apps.brand_b.android.push_success).toBe(1);

    let lines: Record<string, unknown>[] = [];
    await eventually(() => (lines = readLog(gw.accessLog).filter((l) => l.type === 'succeeded-push')).length === 6);
    expect(lines.filter((l) => l.app === 'brand_b')).toHaveLength(3);
    // The default app's lines stay exactly as Gaurun wrote them unless the request named it.
    expect(lines.filter((l) => l.app === undefined)).toHaveLength(2);
    expect(lines.filter((l) => l.app === 'default')).toHaveLength(1);
  });

  it('rejects the whole request with 400 naming an unknown app', async () => {
    const before = (await stats(gw)).ios.push_success;
    const res = await gw.http
      .post('/push')
      .send({ notifications: [ios(['x-1']), ios(['x-2'], { app: 'brand_c' })] })
      .expect(400);
    expect(res.body.errors).toEqual(['notifications[1].app: unknown app "brand_c"']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(simA.records().some((r) => r.token === 'x-1')).toBe(false);
    expect((await stats(gw)).ios.push_success).toBe(before);
  });

  it('a hanging provider of one app does not hold up another app’s deliveries', async () => {
    const hung = Array.from({ length: 12 }, (_, i) => `sim-hang-${i}`);
    await gw.http
      .post('/push')
      .send({ notifications: [ios(hung)] })
      .expect(200);
    await eventually(async () => (await stats(gw)).apps.default.in_flight === 6);
    const before = (await stats(gw)).apps.brand_b.ios.push_success;
    const started = Date.now();
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['b-fast-1', 'b-fast-2', 'b-fast-3'], { app: 'brand_b' })] })
      .expect(200);
    await eventually(async () => (await stats(gw)).apps.brand_b.ios.push_success === before + 3, 2500);
    // The hanging sends take ios.timeout (3 s) to fail: brand_b went through well before any of them ended.
    expect(Date.now() - started).toBeLessThan(2500);
    const s = await stats(gw);
    expect(s.apps.default.in_flight).toBe(6);
    // The hanging app's other pushes wait in its own line of the queue.
    expect(s.apps.default.parked).toBe(0);
    expect(s.queue_usage).toBe(6);
    expect(s.apps.default.ios.errors.Timeout ?? 0).toBe(0);
    await eventually(async () => (await stats(gw)).apps.default.ios.errors.Timeout === 12, 10_000);
  }, 20_000);

  it('readiness lists every app’s clients; dead tokens are reported with their app', async () => {
    const ready = (await gw.http.get('/health/ready').expect(200)).body as { details: Record<string, { apps: Record<string, unknown> }> };
    expect(Object.keys(ready.details.apns.apps).sort()).toEqual(['brand_b', 'default']);
    expect(Object.keys(ready.details.fcm.apps).sort()).toEqual(['brand_b', 'default']);
    expect(ready.details.fcm.apps.brand_b).toEqual(expect.objectContaining({ project: 'brand-b' }));

    await gw.http
      .post('/push')
      .send({ notifications: [ios(['sim-Unregistered-b1'], { app: 'brand_b' }), android(['sim-UNREGISTERED-a1'])] })
      .expect(200);
    let dead: { token: string; app: string }[] = [];
    await eventually(async () => {
      dead = ((await gw.http.get('/feedback/invalid-tokens').expect(200)).body as { invalid_tokens: typeof dead }).invalid_tokens;
      return dead.length === 2;
    });
    expect(new Map(dead.map((d) => [d.token, d.app]))).toEqual(
      new Map([
        ['sim-Unregistered-b1', 'brand_b'],
        ['sim-UNREGISTERED-a1', 'default'],
      ]),
    );
  });
});

describe('API keys scoped to apps', () => {
  let simA: Simulator;
  let simB: Simulator;
  let gw: Gateway;
  twoAppsForSuite((started) => ({ simA, simB, gw } = started), scopedKeysEnv);

  it('a scoped key pushes to its apps only, and to nothing else; unscoped keys reach every app', async () => {
    const bearer = (key: string): string => `Bearer ${key}`;
    await gw.http
      .post('/push')
      .set('Authorization', bearer('brand-b-key'))
      .send({ notifications: [ios(['b-scoped'], { app: 'brand_b' })] })
      .expect(200);
    const refused = await gw.http
      .post('/push')
      .set('Authorization', bearer('brand-b-key'))
      .send({ notifications: [ios(['b-scoped-2'], { app: 'brand_b' }), android(['a-refused'])] })
      .expect(403);
    expect(refused.body.message).toBe('this API key may not push to app "default"');
    await gw.http.put('/config/pushers?max=3').set('Authorization', bearer('brand-b-key')).expect(403);
    await gw.http
      .post('/push')
      .set('Authorization', bearer('admin-key'))
      .send({ notifications: [ios(['a-admin']), ios(['b-admin'], { app: 'brand_b' })] })
      .expect(200);
    await gw.http
      .post('/push')
      .set('Authorization', bearer('other-key'))
      .send({ notifications: [ios(['x'])] })
      .expect(401);

    await eventually(() => simB.records().length === 2 && simA.records().length === 1);
    expect(receivedTokens(simB)).toEqual(['b-admin', 'b-scoped']);
    expect(simA.records().map((r) => r.token)).toEqual(['a-admin']);
  });
});
