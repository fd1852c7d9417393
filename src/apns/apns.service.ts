import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CORE_CONFIG, DEFAULT_APP, type CoreConfig, type IosConfig } from '../config/pushgate.config';
import { PROVIDER_SETTINGS, type ProviderSettings } from '../provider/provider.settings';
import { parseEndpoint } from '../transport/endpoint';
import type { ProxySettings } from '../transport/http2.transport';
import { GatewayApnsClient, type ApnsClientOptions } from './apns.client';
import { proveApnsCredentials } from './apns.credentials';

/** One long-lived APNs client per app with iOS enabled: a connection authenticates one team (or certificate). */
@Injectable()
export class ApnsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ApnsService.name);
  readonly clients = new Map<string, GatewayApnsClient>();
  /** Replaced clients still answering their requests in flight. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private readonly threads: number;
  private readonly proxy: ProxySettings;

  constructor(
    @Inject(CORE_CONFIG) core: CoreConfig,
    @Inject(PROVIDER_SETTINGS) private readonly settings: ProviderSettings,
  ) {
    this.threads = core.transport_threads;
    this.proxy = { url: core.https_proxy, noProxy: core.no_proxy };
  }

  /**
   * Builds the clients (and starts their transport) when the application initialises rather than when it is
   * constructed: a start that fails then, on this or another provider's credentials, still closes what was built.
   */
  onModuleInit(): void {
    for (const [name, { ios }] of Object.entries(this.settings)) if (ios.enabled) this.clients.set(name, this.build(ios, name));
  }

  /** The default app's client. */
  get client(): GatewayApnsClient | undefined {
    return this.clients.get(DEFAULT_APP);
  }

  get ready(): boolean {
    return this.clients.size > 0 && !this.closed;
  }

  /**
   * A client for new settings of an app, built before anything is swapped so that a failure changes nothing.
   * Credentials that cannot work (a wrong passphrase, a key of another certificate, an expired certificate, a key
   * that is no P-256 key) throw here, naming the setting, rather than failing every push later.
   */
  build(ios: IosConfig, app = DEFAULT_APP): GatewayApnsClient {
    const options = clientOptions(ios, this.threads, this.proxy);
    for (const warning of proveApnsCredentials(options.auth, app === DEFAULT_APP ? '' : `apps.${app}.`)) this.logger.warn(warning);
    return new GatewayApnsClient(options);
  }

  /**
   * Makes `client` the app's client for every send from now on; the one it replaces closes once its requests in
   * flight have been answered or have reached their deadline.
   */
  swap(app: string, client: GatewayApnsClient): void {
    const old = this.clients.get(app);
    this.clients.set(app, client);
    if (!old) return;
    const closing = old.close(old.timeoutMs).then(() => {
      this.retiring.delete(closing);
      this.logger.log(`APNs client of app ${app} replaced and closed`);
    });
    this.retiring.add(closing);
  }

  /** Apple recommends pinging idle connections rather than reconnecting. */
  @Interval('apns-ping', 60_000)
  ping(): void {
    for (const client of this.clients.values()) client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.close()).concat([...this.retiring]));
    this.logger.log('APNs connections closed');
  }
}

function clientOptions(ios: IosConfig, threads: number, proxy: ProxySettings): ApnsClientOptions {
  return {
    threads,
    sessions: ios.keepalive_conns,
    timeoutMs: ios.timeout * 1000,
    idleTimeoutMs: ios.keepalive_timeout * 1000,
    auth:
      ios.pem_cert_path !== ''
        ? {
            kind: 'certificate',
            certPem: readFileSync(ios.pem_cert_path, 'utf8'),
            keyPem: readFileSync(ios.pem_key_path, 'utf8'),
            passphrase: ios.pem_key_passphrase || undefined,
          }
        : {
            kind: 'token',
            keyPem: readFileSync(ios.token_auth_key_path, 'utf8'),
            keyId: ios.token_auth_key_id,
            teamId: ios.token_auth_team_id,
          },
    topic: ios.topic,
    sandbox: ios.sandbox,
    connectTo: parseEndpoint(ios.endpoint),
    proxy,
    ca: ios.ca_path ? readFileSync(ios.ca_path, 'utf8') : undefined,
  };
}
