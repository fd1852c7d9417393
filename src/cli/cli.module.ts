import { Module, type INestApplicationContext } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { bulkhead, ExponentialBackoff, handleWhenResult, retry } from 'cockatiel';
import { ApnsModule } from '../apns/apns.module';
import { ApnsService } from '../apns/apns.service';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { FcmModule } from '../fcm/fcm.module';
import { FcmService } from '../fcm/fcm.service';
import { LogModule } from '../log/log.module';
import { LogService } from '../log/log.service';
import { PLATFORM_IOS, type NotificationDto, type PushResultDto } from '../push/push.dto';
import { PushPreparer } from '../push/push.preparer';
import { SimulatorModule } from '../simulator/simulator.module';
import type { SendResult } from '../transport/send-result';

/** The gateway's configuration, provider clients and payload preparation, without its HTTP server and queue. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [pushgateConfig] }),
    LogModule,
    SimulatorModule,
    ApnsModule,
    FcmModule,
  ],
  providers: [PushPreparer],
})
export class CliModule {}

/** Sends at most this many pushes at once when several are sent directly. */
const DIRECT_CONCURRENCY = 64;

/**
 * Sends notifications straight through the gateway's APNs and FCM clients, retrying retryable failures up to the
 * platform's `retry_max` with the gateway's backoff.
 */
export class DirectSender {
  private readonly limit = bulkhead(DIRECT_CONCURRENCY, Number.MAX_SAFE_INTEGER);

  private constructor(private readonly app: INestApplicationContext) {}

  static async open(): Promise<DirectSender> {
    const app = await NestFactory.createApplicationContext(CliModule, { bufferLogs: true, abortOnError: false });
    app.useLogger(app.get(LogService));
    await app.init();
    return new DirectSender(app);
  }

  get config(): PushgateConfig {
    return this.app.get<PushgateConfig>(pushgateConfig.KEY);
  }

  /** One result per token, in order. */
  async send(dto: NotificationDto): Promise<PushResultDto[]> {
    const prepared = this.app.get(PushPreparer).prepare(dto, 'cli-', Date.now());
    const apns = this.app.get(ApnsService);
    const fcm = this.app.get(FcmService);
    const ios = dto.platform === PLATFORM_IOS;
    const app = this.config.apps[prepared.app] ?? this.config;
    const { retry_max } = ios ? app.ios : app.android;
    const policy = retry(
      handleWhenResult((r) => !(r as SendResult).ok && (r as SendResult & { ok: false }).retryable),
      { maxAttempts: retry_max, backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 30_000 }) },
    );
    return Promise.all(
      dto.token.map(async (token): Promise<PushResultDto> => {
        const result = await this.limit.execute(() =>
          policy.execute(() => (ios ? apns.send(token, prepared.apns!, undefined, prepared.app) : fcm.send(token, prepared.fcm!, prepared.app))),
        );
        const platform = ios ? 'ios' : 'android';
        return result.ok
          ? { token, platform, status: 'succeeded', reason: null }
          : { token, platform, status: 'failed', reason: result.reason };
      }),
    );
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
