import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DEFAULT_APP, pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { EMBEDDED_SIMULATOR, type EmbeddedSimulator } from '../simulator/simulator.module';
import { parseEndpoint, type SendResult } from '../transport/send-result';
import { FcmClient, type PreparedFcmMessage } from './fcm.client';

const DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

/** One long-lived FCM client per app with Android enabled, each with its own service account (Firebase project). */
@Injectable()
export class FcmService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FcmService.name);
  readonly clients = new Map<string, FcmClient>();
  private closed = false;

  constructor(
    @Inject(pushgateConfig.KEY) config: PushgateConfig,
    @Inject(EMBEDDED_SIMULATOR) embeddedSimulator: EmbeddedSimulator | null,
  ) {
    for (const [name, { android }] of Object.entries(config.apps)) {
      if (!android.enabled) continue;
      const embedded = name === DEFAULT_APP ? embeddedSimulator : null;
      this.clients.set(
        name,
        new FcmClient({
          serviceAccountPath: embedded ? embedded.files.fcmServiceAccount : android.service_account_path,
          connectTo: parseEndpoint(embedded ? embedded.simulator.fcmUrl : android.endpoint),
          ca: embedded ? embedded.simulator.ca : android.ca_path ? readFileSync(android.ca_path, 'utf8') : undefined,
          sessions: android.keepalive_conns,
          timeoutMs: android.timeout * 1000,
          idleTimeoutMs: android.keepalive_timeout * 1000,
        }),
      );
    }
  }

  /** The default app's client. */
  get client(): FcmClient | undefined {
    return this.clients.get(DEFAULT_APP);
  }

  get ready(): boolean {
    return this.clients.size > 0 && !this.closed;
  }

  send(token: string, message: PreparedFcmMessage, app = DEFAULT_APP): Promise<SendResult> {
    const client = this.clients.get(app);
    return client ? client.deliver(token, message) : Promise.resolve(DISABLED);
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
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    this.logger.log('FCM connections closed');
  }
}
