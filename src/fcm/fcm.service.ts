import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CORE_CONFIG, DEFAULT_APP, type CoreConfig, type AndroidConfig } from '../config/pushgate.config';
import { PROVIDER_SETTINGS, type ProviderSettings } from '../provider/provider.settings';
import { parseEndpoint } from '../transport/endpoint';
import type { ProxySettings } from '../transport/http2.transport';
import { FcmClient } from './fcm.client';
import { proveServiceAccount } from './fcm.credentials';

/** One long-lived FCM client per app with Android enabled, each with its own service account (Firebase project). */
@Injectable()
export class FcmService implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FcmService.name);
  readonly clients = new Map<string, FcmClient>();
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

  /** Builds the clients when the application initialises, as ApnsService does, so that a failed start closes them. */
  onModuleInit(): void {
    for (const [name, { android }] of Object.entries(this.settings)) if (android.enabled) this.clients.set(name, this.build(android, name));
  }

  /** The default app's client. */
  get client(): FcmClient | undefined {
    return this.clients.get(DEFAULT_APP);
  }

  get ready(): boolean {
    return this.clients.size > 0 && !this.closed;
  }

  /**
   * A client for new settings of an app, built before anything is swapped so that a failure changes nothing. A
   * service account whose key does not parse throws here, naming the setting, rather than failing every push later.
   */
  build(android: AndroidConfig, app = DEFAULT_APP): FcmClient {
    proveServiceAccount(android.service_account_path, app === DEFAULT_APP ? '' : `apps.${app}.`);
    return clientOf(android, this.threads, this.proxy);
  }

  /**
   * Makes `client` the app's client for every send from now on; the one it replaces closes once its requests in
   * flight have been answered or have reached their deadline.
   */
  swap(app: string, client: FcmClient): void {
    const old = this.clients.get(app);
    this.clients.set(app, client);
    client.getAccessToken().catch((error: unknown) => {
      this.logger.error(`FCM access token request failed (app ${app}): ${(error as Error).message}`);
    });
    if (!old) return;
    const closing = old.close(old.timeoutMs).then(() => {
      this.retiring.delete(closing);
      this.logger.log(`FCM client of app ${app} replaced and closed`);
    });
    this.retiring.add(closing);
  }

  onApplicationBootstrap(): void {
    this.refreshAccessToken();
  }

  /** Renews the OAuth access token ahead of expiry so that no push waits for it. */
  @Interval('fcm-token', 60_000)
  refreshAccessToken(): void {
    for (const [app, client] of this.clients) {
      client.getAccessToken().catch((error: unknown) => {
        this.logger.error(`FCM access token request failed (app ${app}): ${(error as Error).message}`);
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.close()).concat([...this.retiring]));
    this.logger.log('FCM connections closed');
  }
}

function clientOf(android: AndroidConfig, threads: number, proxy: ProxySettings): FcmClient {
  return new FcmClient({
    threads,
    serviceAccountPath: android.service_account_path,
    connectTo: parseEndpoint(android.endpoint),
    proxy,
    ca: android.ca_path ? readFileSync(android.ca_path, 'utf8') : undefined,
    sessions: android.keepalive_conns,
    timeoutMs: android.timeout * 1000,
    idleTimeoutMs: android.keepalive_timeout * 1000,
  });
}
