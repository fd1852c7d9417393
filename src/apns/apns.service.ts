import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Notification, type NotificationOptions } from 'apns2';
import { DEFAULT_APP, pushgateConfig, type IosConfig, type PushgateConfig } from '../config/pushgate.config';
import { EMBEDDED_SIMULATOR, type EmbeddedSimulator } from '../simulator/simulator.module';
import { parseEndpoint, type SendResult } from '../transport/send-result';
import { apnsIdOf, GatewayApnsClient, type ApnsClientOptions } from './apns.client';

const DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

/** One long-lived APNs client per app with iOS enabled: a connection authenticates one team (or certificate). */
@Injectable()
export class ApnsService implements OnApplicationShutdown {
  private readonly logger = new Logger(ApnsService.name);
  readonly clients = new Map<string, GatewayApnsClient>();
  /** Replaced clients still answering their requests in flight. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private readonly threads: number;

  constructor(
    @Inject(pushgateConfig.KEY) config: PushgateConfig,
    @Inject(EMBEDDED_SIMULATOR) embedded: EmbeddedSimulator | null,
  ) {
    this.threads = config.core.transport_threads;
    for (const [name, app] of Object.entries(config.apps)) {
      if (app.ios.enabled) {
        this.clients.set(name, new GatewayApnsClient(clientOptions(app.ios, this.threads, name === DEFAULT_APP ? embedded : null)));
      }
    }
  }

  /** The default app's client. */
  get client(): GatewayApnsClient | undefined {
    return this.clients.get(DEFAULT_APP);
  }

  get ready(): boolean {
    return this.clients.size > 0 && !this.closed;
  }

  /** Sends one push with the app's client; `pushId` gives it a stable `apns-id`. */
  send(token: string, options: NotificationOptions, pushId?: string, app = DEFAULT_APP): Promise<SendResult> {
    const client = this.clients.get(app);
    if (!client) return Promise.resolve(DISABLED);
    return client.deliver(new Notification(token, options), pushId === undefined ? undefined : apnsIdOf(pushId));
  }

  /** A client for new settings of an app, built before anything is swapped so that a failure changes nothing. */
  build(ios: IosConfig): GatewayApnsClient {
    return new GatewayApnsClient(clientOptions(ios, this.threads, null));
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
    for (const client of this.clients.values()) void client.ping();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.close()).concat([...this.retiring]));
    this.logger.log('APNs connections closed');
  }
}

function clientOptions(ios: IosConfig, threads: number, embedded: EmbeddedSimulator | null): ApnsClientOptions {
  const common = {
    threads,
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
