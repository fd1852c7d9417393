import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { bulkhead } from 'cockatiel';
import { ApnsModule } from '../apns/apns.module';
import { ApnsProvider } from '../apns/apns.provider';
import { bootConfigSource, loadConfig, PushgateConfigModule, type PushgateConfig } from '../config/pushgate.config';
import { FcmModule } from '../fcm/fcm.module';
import { FcmProvider } from '../fcm/fcm.provider';
import { LogModule } from '../log/log.module';
import { LogService } from '../log/log.service';
import { ProviderModule } from '../provider/provider.module';
import { platformName, type NotificationDto } from '../notification/notification.dto';
import { ProviderRegistry } from '../provider/provider.registry';
import { SendRetryPolicy } from '../provider/provider.retry';
import type { PushResultDto } from '../push/push.dto';
import { PushPreparer } from '../push/push.preparer';
import { SimulatorModule } from '../simulator/simulator.module';
import { UsageError } from './notification';

/** The gateway's configuration, provider clients and payload preparation, without its HTTP server and queue. */
@Module({})
export class CliModule {
  static forRoot(config: PushgateConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        PushgateConfigModule.forRoot(config),
        LogModule,
        SimulatorModule,
        ProviderModule.register([
          { module: ApnsModule, provider: ApnsProvider },
          { module: FcmModule, provider: FcmProvider },
        ]),
      ],
      providers: [PushPreparer],
    };
  }
}

/** Sends at most this many pushes at once when several are sent directly. */
const DIRECT_CONCURRENCY = 64;

/**
 * Sends notifications straight through the gateway's push providers, retrying retryable failures by the gateway's
 * own retry policy (the platform's `retry_max`, the same backoff).
 */
export class DirectSender {
  private readonly limit = bulkhead(DIRECT_CONCURRENCY, Number.MAX_SAFE_INTEGER);

  private constructor(private readonly app: INestApplicationContext) {}

  static async open(config: PushgateConfig = loadConfig(bootConfigSource())): Promise<DirectSender> {
    const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), { bufferLogs: true, abortOnError: false });
    app.useLogger(app.get(LogService));
    await app.init();
    return new DirectSender(app);
  }

  /** One result per token, in order; throws a {@link UsageError} for a payload the provider would refuse. */
  async send(dto: NotificationDto): Promise<PushResultDto[]> {
    const prepared = this.app.get(PushPreparer).prepare(dto, 'cli-', Date.now());
    const provider = this.app.get(ProviderRegistry).of(dto.platform);
    const problems = provider.validate(dto, prepared, '');
    if (problems.length > 0) throw new UsageError(problems.join('\n'));
    const retryPolicy = this.app.get(SendRetryPolicy);
    const platform = platformName(dto.platform);
    return Promise.all(
      dto.token.map(async (token): Promise<PushResultDto> => {
        const result = await this.limit.execute(() =>
          retryPolicy.execute(dto.platform, prepared.app, () => provider.send(prepared.app, token, prepared)),
        );
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
