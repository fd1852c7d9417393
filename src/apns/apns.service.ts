import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { CORE_CONFIG, DEFAULT_APP, type CoreConfig, type IosConfig } from '../config/pushgate.config';
import { ProviderClientService } from '../provider/provider.clients';
import { PROVIDER_SETTINGS, type ProviderSettings } from '../provider/provider.settings';
import { parseEndpoint } from '../transport/endpoint';
import type { ProxySettings } from '../transport/http2.transport';
import { GatewayApnsClient, type ApnsClientOptions } from './apns.client';
import { proveApnsCredentials } from './apns.credentials';

/** One long-lived APNs client per app with iOS enabled: a connection authenticates one team (or certificate). */
@Injectable()
export class ApnsService extends ProviderClientService<GatewayApnsClient, IosConfig> {
  constructor(@Inject(CORE_CONFIG) core: CoreConfig, @Inject(PROVIDER_SETTINGS) settings: ProviderSettings) {
    super('APNs', core, settings, (app) => app.ios);
  }

  /**
   * Credentials that cannot work (a wrong passphrase, a key of another certificate, an expired certificate, a key
   * that is no P-256 key) throw here, naming the setting.
   */
  build(ios: IosConfig, app = DEFAULT_APP): GatewayApnsClient {
    const options = clientOptions(ios, this.threads, this.proxy);
    for (const warning of proveApnsCredentials(options.auth, app === DEFAULT_APP ? '' : `apps.${app}.`)) this.logger.warn(warning);
    return new GatewayApnsClient(options);
  }

  /** Apple recommends pinging idle connections rather than reconnecting. */
  @Interval('apns-ping', 60_000)
  ping(): void {
    for (const client of this.clients.values()) client.ping();
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
