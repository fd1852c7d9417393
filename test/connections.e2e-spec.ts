import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Simulator } from '../src/simulator/simulator';
import { eventually, ios, startGateway, type Gateway } from './support/gateway';

const MAX_CONNECTIONS = 50;
const OPENED = 200;

interface Watched {
  socket: Socket;
  closedAt?: number;
}

/** Opens raw TCP connections that send nothing, and records when each is closed by the gateway. */
async function openSilent(port: number, count: number): Promise<Watched[]> {
  const watched = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Watched>((resolve, reject) => {
          const entry: Watched = { socket: connect(port, '127.0.0.1', () => resolve(entry)) };
          entry.socket.on('close', () => (entry.closedAt ??= Date.now()));
          // A connection refused above the cap may be reset rather than ended.
          entry.socket.on('error', () => undefined);
          entry.socket.once('error', reject);
          entry.socket.resume();
        }),
    ),
  );
  return watched;
}

describe('client connections', () => {
  let sim: Simulator;
  let gw: Gateway;
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    sim = await Simulator.start({ latencyMs: 2500 });
    gw = await startGateway(sim, {
      PUSHGATE_CORE_HEADER_TIMEOUT: '1',
      PUSHGATE_CORE_REQUEST_TIMEOUT: '2',
      PUSHGATE_CORE_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    });
    server = gw.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await gw.close();
    await sim.close();
  });

  it('keeps at most core.max_connections open, refuses the others at once, and closes silent ones after core.header_timeout', async () => {
    const started = Date.now();
    const watched = await openSilent(port, OPENED);
    sockets.push(...watched.map((w) => w.socket));
    await eventually(() => watched.filter((w) => w.closedAt !== undefined).length >= OPENED - MAX_CONNECTIONS, 5000);
    const refused = watched.filter((w) => w.closedAt !== undefined && w.closedAt - started < 800);
    expect(refused.length).toBe(OPENED - MAX_CONNECTIONS);
    const held = watched.filter((w) => !refused.includes(w));
    expect(held.filter((w) => w.closedAt !== undefined)).toEqual([]);

    await eventually(() => held.every((w) => w.closedAt !== undefined), 5000);
    for (const { closedAt } of held) {
      expect(closedAt! - started).toBeGreaterThanOrEqual(900);
      expect(closedAt! - started).toBeLessThan(4000);
    }
    // The slots are free again.
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });

  it('does not cut a request whose answer takes longer than core.header_timeout', async () => {
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/push?wait=true&timeout=10`, {
      method: 'POST',
      body: JSON.stringify({ notifications: [ios(['slow-answer'])] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { message: string }).message).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });
});
