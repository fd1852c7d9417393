import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Notification, type NotificationOptions } from 'apns2';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { EMBEDDED_SIMULATOR, type EmbeddedSimulator } from '../simulator/simulator.module';
import { parseEndpoint, type SendResult } from '../transport/send-result';
import { apnsIdOf, GatewayApnsClient, type ApnsClientOptions } from './apns.client';

const DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

@Injectable()
export class ApnsService implements OnApplicationShutdown {
  private readonly logger = new Logger(ApnsService.name);
  readonly client?: GatewayApnsClient;
  private closed = false;

  constructor(
    @Inject(pushgateConfig.KEY) config: PushgateConfig,
    @Inject(EMBEDDED_SIMULATOR) embedded: EmbeddedSimulator | null,
  ) {
    if (config.ios.enabled) this.client = new GatewayApnsClient(clientOptions(config, embedded));
  }

  get ready(): boolean {
    return this.client !== undefined && !this.closed;
  }

  /** Sends one push; `pushId` gives it a stable `apns-id`. */
  send(token: string, options: NotificationOptions, pushId?: string): Promise<SendResult> {
    if (!this.client) return Promise.resolve(DISABLED);
    return this.client.deliver(new Notification(token, options), pushId === undefined ? undefined : apnsIdOf(pushId));
  }

  /** Apple recommends pinging idle connections rather than reconnecting. */
  @Interval('apns-ping', 60_000)
  ping(): void {
    void this.client?.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.client?.close();
    this.logger.log('APNs connections closed');
  }
}

function clientOptions(config: PushgateConfig, embedded: EmbeddedSimulator | null): ApnsClientOptions {
  const { ios } = config;
  const common = {
    sessions: ios.keepalive_conns,
    timeoutMs: ios.timeout * 1000,
    idleTimeoutMs: ios.keepalive_timeout * 1000,
  };
  if (embedded) {
    const { credentials, apnsUrl, ca } = embedded.simulator;
    return {
      ...common,
      auth: { kind: 'token', keyPem: credentials.apns.keyPem, keyId: credentials.apns.keyId, teamId: credentials.apns.teamId },
      topic: ios.topic || credentials.apns.topic,
      sandbox: ios.sandbox,
      connectTo: parseEndpoint(apnsUrl),
      ca,
    };
  }
  return {
    ...common,
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
    ca: ios.ca_path ? readFileSync(ios.ca_path, 'utf8') : undefined,
  };
}
