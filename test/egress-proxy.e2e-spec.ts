import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Simulator } from '../src/simulator/simulator';
import { proxyFor } from '../src/transport/http2.transport';
import { android, eventually, ios, readLog, startGateway, type Gateway } from './support/gateway';

/** A minimal HTTP CONNECT proxy on 127.0.0.1 that records every tunnel it opens. */
async function connectProxy(): Promise<{ server: Server; url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = [req.url!.slice(0, req.url!.lastIndexOf(':')), Number(req.url!.slice(req.url!.lastIndexOf(':') + 1))];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('egress through an HTTP proxy (CONNECT, then TLS and HTTP/2 inside the tunnel)', () => {
  let sim: Simulator;
  let proxy: Awaited<ReturnType<typeof connectProxy>>;
  let gw: Gateway | undefined;

  beforeEach(async () => {
    [sim, proxy] = await Promise.all([Simulator.start(), connectProxy()]);
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await Promise.all([sim.close(), proxy.close()]);
  });

  const delivered = async (gateway: Gateway, tokens: string[]): Promise<void> => {
    await gateway.http
      .post('/push')
      .send({ notifications: [ios([tokens[0]]), android([tokens[1]])] })
      .expect(200);
    await eventually(() => tokens.every((t) => sim.records().some((r) => r.token === t && r.status === 200)), 10_000);
  };
  const simulatorHosts = (): string[] => [new URL(sim.apnsUrl).host, new URL(sim.fcmUrl).host].sort();

  it('tunnels the APNs and FCM connections through core.https_proxy', async () => {
    gw = await startGateway(sim, { PUSHGATE_CORE_HTTPS_PROXY: proxy.url, PUSHGATE_CORE_TRANSPORT_THREADS: '0' });
    await delivered(gw, ['proxied-ios', 'proxied-android']);
    expect([...new Set(proxy.tunnels)].sort()).toEqual(simulatorHosts());
  });

  it("sends FCM's OAuth token request through the proxy too", async () => {
    gw = await startGateway(sim, {
      PUSHGATE_CORE_HTTPS_PROXY: proxy.url,
      PUSHGATE_CORE_TRANSPORT_THREADS: '0',
      PUSHGATE_IOS_ENABLED: 'false',
      PUSHGATE_ANDROID_KEEPALIVE_CONNS: '1',
    });
    await gw.http
      .post('/push')
      .send({ notifications: [android(['oauth-android'])] })
      .expect(200);
    await eventually(() => sim.records().some((r) => r.token === 'oauth-android' && r.status === 200), 10_000);
    // One tunnel for the token request (HTTP/1.1, keep-alive), one for the HTTP/2 connection carrying the message.
    expect(proxy.tunnels).toEqual([new URL(sim.fcmUrl).host, new URL(sim.fcmUrl).host]);
  });

  it('takes the proxy from HTTPS_PROXY, also in the transport threads', async () => {
    gw = await startGateway(sim, { HTTPS_PROXY: proxy.url, NO_PROXY: '' });
    expect(gw.config.core.https_proxy).toBe(proxy.url);
    await delivered(gw, ['env-ios', 'env-android']);
    expect([...new Set(proxy.tunnels)].sort()).toEqual(simulatorHosts());
  });

  it('goes direct to the hosts NO_PROXY names', async () => {
    gw = await startGateway(sim, { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' });
    await delivered(gw, ['direct-ios', 'direct-android']);
    expect(proxy.tunnels).toEqual([]);
  });

  it('fails the sends when the proxy refuses the tunnel, and nothing reaches the provider', async () => {
    proxy.server.removeAllListeners('connect');
    proxy.server.on('connect', (req, client: Socket) => {
      proxy.tunnels.push(req.url ?? '');
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    gw = await startGateway(sim, { PUSHGATE_CORE_HTTPS_PROXY: proxy.url, PUSHGATE_IOS_RETRY_MAX: '0', PUSHGATE_ANDROID_ENABLED: 'false' });
    await gw.http
      .post('/push')
      .send({ notifications: [ios(['refused-ios'])] })
      .expect(200);
    await eventually(() => readLog(gw!.accessLog).some((l) => l.type === 'failed-push'), 10_000);
    expect(readLog(gw.accessLog).find((l) => l.type === 'failed-push')).toEqual(expect.objectContaining({ error: expect.any(String) }));
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(sim.records()).toEqual([]);
  });
});

describe('proxyFor: NO_PROXY', () => {
  const proxy = (noProxy: string) => ({ url: 'http://proxy.internal:3128', noProxy });
  it.each([
    ['', 'api.push.apple.com', 443, true],
    ['*', 'api.push.apple.com', 443, false],
    ['apple.com', 'api.push.apple.com', 443, false],
    ['.apple.com', 'api.push.apple.com', 443, false],
    ['*.apple.com', 'api.push.apple.com', 443, false],
    ['.apple.com', 'apple.com', 443, false],
    ['pple.com', 'api.push.apple.com', 443, true],
    ['localhost, 127.0.0.1', '127.0.0.1', 8443, false],
    ['127.0.0.1:8443', '127.0.0.1', 8443, false],
    ['127.0.0.1:9443', '127.0.0.1', 8443, true],
    ['0.0.1', '127.0.0.1', 8443, true],
    ['[::1]', '::1', 443, false],
    ['FCM.googleapis.com', 'fcm.googleapis.com', 443, false],
  ])('NO_PROXY=%j: %s:%d through the proxy: %s', (noProxy, host, port, proxied) => {
    expect(proxyFor(proxy(noProxy), host, port) !== undefined).toBe(proxied);
  });
});
