import { Simulator } from '../src/simulator/simulator';
import { transportThreadSpawn } from '../src/transport/threaded.transport';
import { android, ios, readLog, receivedTokens, startGateway, type Gateway } from './support/gateway';
import { waitFor } from './support/wait';

describe('a transport thread that cannot start', () => {
  let sim: Simulator;
  let gw: Gateway | undefined;
  const spawn = transportThreadSpawn.worker;

  beforeAll(async () => {
    sim = await Simulator.start();
  });
  afterEach(async () => {
    transportThreadSpawn.worker = spawn;
    await gw?.close();
    gw = undefined;
  });
  afterAll(() => sim.close());

  it('turns readiness down and refuses pushes with 503, queueing nothing, until a thread starts again', async () => {
    // What Node throws when the process is out of file descriptors as the thread is created.
    transportThreadSpawn.worker = () => {
      throw Object.assign(new Error('Worker initialization failure: EMFILE'), { code: 'ERR_WORKER_INIT_FAILED' });
    };
    gw = await startGateway(sim, { PUSHGATE_CORE_TRANSPORT_THREADS: '1' });

    const ready = await gw.http.get('/health/ready').expect(503);
    expect(ready.body.error.apns).toMatchObject({ status: 'down', transport: expect.stringContaining('EMFILE') });
    expect(ready.body.error.fcm).toMatchObject({ status: 'down', transport: expect.stringContaining('EMFILE') });
    const refused = await gw.http
      .post('/push')
      .send({ notifications: [ios(['start-ios']), android(['start-android'])] })
      .expect(503);
    expect(refused.body.message).toMatch(/transport thread could not start \(Worker initialization failure: EMFILE\)/);
    expect((await gw.http.get('/stat/app').expect(200)).body).toMatchObject({ queue_usage: 0 });
    expect(readLog(gw.accessLog).filter((l) => l.type === 'accepted-push')).toEqual([]);

    transportThreadSpawn.worker = spawn;
    await waitFor(async () => (await gw!.http.get('/health/ready')).status === 200, { timeoutMs: 10_000, what: 'ready again' });
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['start-ios']), android(['start-android'])] })
      .expect(200);
    await waitFor(() => sim.records().filter((r) => r.status === 200).length === 2, { timeoutMs: 10_000, what: 'both delivered' });
    expect(receivedTokens(sim)).toEqual(['start-android', 'start-ios']);
  });
});
