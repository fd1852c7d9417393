import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { eventually } from '../../test/support/gateway';
import { loadConfig } from '../config/pushgate.config';
import { applyServerTimeouts } from './server-timeouts';

/** A raw keep-alive connection: each `get` writes one request and resolves with its whole response. */
class Connection {
  private text = '';
  private wanted = 0;
  private waiting?: (response: string) => void;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      const responses = this.text.split(/(?=HTTP\/1\.1 )/);
      if (responses.length >= this.wanted && this.text.endsWith('ok')) this.waiting?.(responses[this.wanted - 1]);
    });
    socket.on('close', () => (this.closed = true));
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new Connection(socket)));
    });
  }

  get(): Promise<string> {
    this.wanted += 1;
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function listening(core: Parameters<typeof applyServerTimeouts>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    res.setHeader('content-length', 2);
    res.end('ok');
  });
  applyServerTimeouts(server, core);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('applyServerTimeouts', () => {
  let server: Server | undefined;
  let connection: Connection | undefined;
  afterEach(async () => {
    connection?.destroy();
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = connection = undefined;
  });

  it('keeps idle connections 75 s by default, longer than the 60 s idle timeout of common load balancers, and says so', async () => {
    const { core } = loadConfig();
    expect(core.keepalive_timeout).toBe(75);
    let port: number;
    ({ server, port } = await listening(core));
    connection = await Connection.open(port);
    expect(await connection.get()).toMatch(/\r\nKeep-Alive: timeout=75\r\n/i);
    expect(server.keepAliveTimeout).toBe(75_000);
  });

  it('serves the next request of a connection idle past the header deadline, and closes it after core.keepalive_timeout', async () => {
    let port: number;
    ({ server, port } = await listening({ header_timeout: 1, request_timeout: 2, keepalive_timeout: 3 }));
    connection = await Connection.open(port);
    expect(await connection.get()).toMatch(/^HTTP\/1\.1 200/);
    // Idle for twice the header deadline: the next request is still served on the same connection.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(connection.closed).toBe(false);
    expect(await connection.get()).toMatch(/^HTTP\/1\.1 200/);
    const answered = Date.now();
    await eventually(() => connection!.closed, 10_000);
    // 3 s plus Node's keepAliveTimeoutBuffer (1 s) past the advertised timeout; Node's default would be 5 + 1 s.
    expect(Date.now() - answered).toBeGreaterThanOrEqual(2900);
    expect(Date.now() - answered).toBeLessThan(4900);
  });
});
