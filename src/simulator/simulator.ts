import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import { ApnsCredentials, generateSimulatorMaterial, SimulatorMaterial } from './simulator.certs';
import { createApnsServer } from './simulator.apns';
import { createControlServer } from './simulator.control';
import { createFcmServer } from './simulator.fcm';
import type { FaultsSnapshot, ProviderTokenRules, RandomFaults, SimProvider } from './simulator.faults';
import { SimCounts, SimRecord, SimState } from './simulator.state';

export { APNS_REASON_STATUS } from './simulator.apns';
export { FCM_ERRORS } from './simulator.fcm';
export type { ApnsCredentials } from './simulator.certs';
export type { FaultsSnapshot, ProviderTokenRules, RandomFaults, SimProvider } from './simulator.faults';
export type { PlatformCounts, SimAuth, SimCounts, SimRecord } from './simulator.state';

export interface SimulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  apnsPort?: number;
  fcmPort?: number;
  /** undefined: no control server; 0: a free port. */
  controlPort?: number;
  latencyMs?: number;
  /** How many full records to keep (default 10,000); counters are always kept. */
  recordLimit?: number;
  /** Topic of the generated APNs client certificate; default 'com.example.pushgate'. */
  topic?: string;
  /** Firebase project of the generated service account; default 'pushgate-sim'. */
  fcmProject?: string;
  /** Share of requests (0..1) answered with a retryable error, and never answered; see {@link Simulator.setRandomFaults}. */
  errorRate?: number;
  timeoutRate?: number;
}

export interface SimulatorCredentials {
  apns: ApnsCredentials;
  fcm: { serviceAccount: Record<string, string> };
}

export interface SimulatorCredentialFiles {
  ca: string;
  apnsKey: string;
  apnsCert: string;
  apnsCertKey: string;
  fcmServiceAccount: string;
  /** JSON with keyId, teamId and topic, which token auth needs besides the key. */
  apnsInfo: string;
}

function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Local APNs (HTTP/2) and FCM HTTP v1 endpoints with an OAuth token endpoint, plus an optional control API. */
export class Simulator {
  readonly apnsUrl: string;
  readonly fcmUrl: string;
  readonly controlUrl?: string;
  readonly ca: string;
  readonly credentials: SimulatorCredentials;

  private closing?: Promise<void>;

  private constructor(
    private readonly state: SimState,
    private readonly servers: NetServer[],
    private readonly sockets: Set<Socket>,
    material: SimulatorMaterial,
    urls: { apns: string; fcm: string; control?: string },
  ) {
    this.apnsUrl = urls.apns;
    this.fcmUrl = urls.fcm;
    this.controlUrl = urls.control;
    this.ca = material.caPem;
    this.credentials = { apns: { ...material.apns }, fcm: { serviceAccount: { ...material.fcm.serviceAccount } } };
  }

  static async start(options: SimulatorOptions = {}): Promise<Simulator> {
    const host = options.host ?? '127.0.0.1';
    const material = await generateSimulatorMaterial(options.topic ?? 'com.example.pushgate', options.fcmProject);
    const state = new SimState(options.recordLimit ?? 10_000, options.latencyMs ?? 0);
    state.faults.random = { errorRate: options.errorRate ?? 0, timeoutRate: options.timeoutRate ?? 0 };
    const sockets = new Set<Socket>();
    const onSocket = (socket: Socket): void => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    const apns = createApnsServer({ state, material, onSocket });
    const fcm = createFcmServer({ state, material, onSocket });
    const servers: NetServer[] = [apns, fcm];
    const control = options.controlPort === undefined ? undefined : createControlServer(state, material.caPem);
    if (control) {
      control.on('connection', onSocket);
      servers.push(control);
    }
    try {
      const apnsPort = await listen(apns, options.apnsPort ?? 0, host);
      const fcmPort = await listen(fcm, options.fcmPort ?? 0, host);
      const controlPort = control ? await listen(control, options.controlPort ?? 0, host) : undefined;
      const h = urlHost(host);
      return new Simulator(state, servers, sockets, material, {
        apns: `https://${h}:${apnsPort}`,
        fcm: `https://${h}:${fcmPort}`,
        control: controlPort === undefined ? undefined : `http://${h}:${controlPort}`,
      });
    } catch (err) {
      for (const server of servers) if (server.listening) server.close();
      throw err;
    }
  }

  get latencyMs(): number {
    return this.state.latencyMs;
  }

  set latencyMs(ms: number) {
    this.state.latencyMs = Math.max(0, ms);
  }

  /** The most recent records (up to recordLimit), oldest first. */
  records(): SimRecord[] {
    return this.state.records();
  }

  counts(): SimCounts {
    return this.state.counts();
  }

  /** Resolves once APNs plus FCM have answered `total` requests since start or the last reset. */
  waitFor(total: number, timeoutMs: number): Promise<void> {
    return this.state.waitFor(total, timeoutMs);
  }

  reset(): void {
    this.state.reset();
  }

  /** Sends GOAWAY on every open connection, refusing the streams in flight, then closes them. Returns how many. */
  goaway(provider: SimProvider = 'apns'): number {
    return this.state.faults.goaway(provider);
  }

  /** Every connection open now answers everything with `status` (500 or 503); new ones are healthy. */
  breakConnections(provider: SimProvider = 'apns', status = 500): number {
    return this.state.faults.breakConnections(provider, status);
  }

  /** Every connection open now goes silent: no answer, no PING ack. New ones are healthy. */
  stall(provider: SimProvider = 'apns'): number {
    return this.state.faults.stall(provider);
  }

  /** Changes SETTINGS_MAX_CONCURRENT_STREAMS on open connections and for new ones (default 1000). */
  setMaxConcurrentStreams(provider: SimProvider, max: number): void {
    this.state.faults.setMaxConcurrentStreams(provider, max);
  }

  /** Fails every TLS handshake on new connections while on. */
  failTls(provider: SimProvider, on = true): void {
    this.state.faults.failTls(provider, on);
  }

  /** The OAuth token endpoint answers this status (0: it works again). */
  failOAuth(status = 503): void {
    this.state.faults.oauthStatus = status;
  }

  /** Apple's provider-token rules: maximum age (default 3600 s) and minimum refresh interval (default 0: off). */
  setProviderTokenRules(rules: Partial<ProviderTokenRules>): void {
    this.state.faults.providerTokens = { ...this.state.faults.providerTokens, ...rules };
  }

  /** FCM answers every send with 429 QUOTA_EXCEEDED and a Retry-After until this many seconds have passed. */
  quota(retryAfterSeconds: number): void {
    this.state.faults.quota(retryAfterSeconds);
  }

  /** Answers the next `count` requests with this APNs reason or FCM error code, whatever their token. */
  failNext(provider: SimProvider, code: string, count: number): void {
    this.state.faults.failNext(provider, code, count);
  }

  /** Random retryable errors and unanswered requests, as shares of all requests (0..1). */
  setRandomFaults(faults: Partial<RandomFaults>): void {
    this.state.faults.random = { ...this.state.faults.random, ...faults };
  }

  /** Both providers down: open connections dropped, new handshakes failing, until `outage(false)`. */
  outage(on = true): void {
    this.state.faults.outage(on);
  }

  clearFaults(): void {
    this.state.faults.clear();
  }

  faults(): FaultsSnapshot {
    return this.state.faults.snapshot();
  }

  writeCredentials(dir: string): SimulatorCredentialFiles {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { apns, fcm } = this.credentials;
    const files: SimulatorCredentialFiles = {
      ca: join(dir, 'ca.pem'),
      apnsKey: join(dir, `AuthKey_${apns.keyId}.p8`),
      apnsCert: join(dir, 'apns-cert.pem'),
      apnsCertKey: join(dir, 'apns-cert-key.pem'),
      fcmServiceAccount: join(dir, 'fcm-service-account.json'),
      apnsInfo: join(dir, 'apns.json'),
    };
    const contents: [string, string][] = [
      [files.ca, this.ca],
      [files.apnsKey, apns.keyPem],
      [files.apnsCert, apns.certPem],
      [files.apnsCertKey, apns.certKeyPem],
      [files.fcmServiceAccount, JSON.stringify(fcm.serviceAccount, null, 2) + '\n'],
      [files.apnsInfo, JSON.stringify({ keyId: apns.keyId, teamId: apns.teamId, topic: apns.topic }, null, 2) + '\n'],
    ];
    for (const [path, text] of contents) {
      writeFileSync(path, text, { mode: 0o600 });
      // An existing file keeps its old mode through writeFileSync.
      chmodSync(path, 0o600);
    }
    return files;
  }

  /** Stops listening and destroys every open connection, so in-flight and hanging requests end at once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state.rejectWaiters('simulator closed');
      const closed = this.servers.map(
        (server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
      );
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
      await Promise.all(closed);
    })();
    return this.closing;
  }
}
