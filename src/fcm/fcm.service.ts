import { readFileSync } from 'node:fs';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CORE_CONFIG, DEFAULT_APP, type CoreConfig, type AndroidConfig } from '../config/pushgate.config';
import { ProviderClientService } from '../provider/provider.clients';
import { PROVIDER_SETTINGS, type ProviderSettings } from '../provider/provider.settings';
import { parseEndpoint } from '../transport/endpoint';
import type { ProxySettings } from '../transport/http2.transport';
import { FcmClient } from './fcm.client';
import { proveServiceAccount } from './fcm.credentials';

/** One long-lived FCM client per app with Android enabled, each with its own service account (Firebase project). */
@Injectable()
export class FcmService extends ProviderClientService<FcmClient, AndroidConfig> implements OnApplicationBootstrap {
  constructor(@Inject(CORE_CONFIG) core: CoreConfig, @Inject(PROVIDER_SETTINGS) settings: ProviderSettings) {
    super('FCM', core, settings, (app) => app.android);
  }

  /** A service account whose key does not parse throws here, naming the setting. */
  build(android: AndroidConfig, app = DEFAULT_APP): FcmClient {
    proveServiceAccount(android.service_account_path, app === DEFAULT_APP ? '' : `apps.${app}.`);
    return clientOf(android, this.threads, this.proxy);
  }

  /** A client put in force fetches its access token at once, so that its first push does not wait for it. */
  protected override swapped(app: string, client: FcmClient): void {
    this.fetchAccessToken(app, client);
  }

  onApplicationBootstrap(): void {
    this.refreshAccessToken();
  }

  /** Renews the OAuth access token ahead of expiry so that no push waits for it. */
  @Interval('fcm-token', 60_000)
  refreshAccessToken(): void {
    for (const [app, client] of this.clients) this.fetchAccessToken(app, client);
  }

  private fetchAccessToken(app: string, client: FcmClient): void {
    client.getAccessToken().catch((error: unknown) => {
      this.logger.error(`FCM access token request failed (app ${app}): ${(error as Error).message}`);
    });
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
