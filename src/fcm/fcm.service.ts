import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { EMBEDDED_SIMULATOR, type EmbeddedSimulator } from '../simulator/simulator.module';
import { parseEndpoint, type SendResult } from '../transport/send-result';
import { FcmClient, type PreparedFcmMessage } from './fcm.client';

const DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

@Injectable()
export class FcmService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FcmService.name);
  readonly client?: FcmClient;
  private closed = false;

  constructor(
    @Inject(pushgateConfig.KEY) config: PushgateConfig,
    @Inject(EMBEDDED_SIMULATOR) embedded: EmbeddedSimulator | null,
  ) {
    const { android } = config;
    if (!android.enabled) return;
    this.client = new FcmClient({
      serviceAccountPath: embedded ? embedded.files.fcmServiceAccount : android.service_account_path,
      connectTo: parseEndpoint(embedded ? embedded.simulator.fcmUrl : android.endpoint),
      ca: embedded ? embedded.simulator.ca : android.ca_path ? readFileSync(android.ca_path, 'utf8') : undefined,
      sessions: android.keepalive_conns,
      timeoutMs: android.timeout * 1000,
      idleTimeoutMs: android.keepalive_timeout * 1000,
    });
  }

  get ready(): boolean {
    return this.client !== undefined && !this.closed;
  }

  send(token: string, message: PreparedFcmMessage): Promise<SendResult> {
    return this.client ? this.client.deliver(token, message) : Promise.resolve(DISABLED);
  }

  onApplicationBootstrap(): void {
    this.refreshAccessToken();
  }

  /** Renews the OAuth access token ahead of expiry so that no push waits for it. */
  @Interval('fcm-token', 60_000)
  refreshAccessToken(): void {
    this.client?.getAccessToken().catch((error: unknown) => {
      this.logger.error(`FCM access token request failed: ${(error as Error).message}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.client?.close();
    this.logger.log('FCM connections closed');
  }
}
