import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AppsSettings } from './apps.settings';
import type { PushgateConfig } from './config.schema';
import {
  ANDROID_CONFIG,
  AUTH_CONFIG,
  CONFIG_SECTIONS,
  CORE_CONFIG,
  FEEDBACK_CONFIG,
  GORUSH_CONFIG,
  IOS_CONFIG,
  LOG_CONFIG,
  QUEUE_CONFIG,
} from './config.sections';

/** Provides one loaded configuration to the whole application: each section under its token, and the apps' live settings. */
@Global()
@Module({})
export class PushgateConfigModule {
  static forRoot(config: PushgateConfig): DynamicModule {
    const providers: Provider[] = [
      { provide: CORE_CONFIG, useValue: config.core },
      { provide: IOS_CONFIG, useValue: config.ios },
      { provide: ANDROID_CONFIG, useValue: config.android },
      { provide: QUEUE_CONFIG, useValue: config.queue },
      { provide: AUTH_CONFIG, useValue: config.auth },
      { provide: FEEDBACK_CONFIG, useValue: config.feedback },
      { provide: GORUSH_CONFIG, useValue: config.gorush },
      { provide: LOG_CONFIG, useValue: config.log },
      {
        provide: CONFIG_SECTIONS,
        useValue: {
          core: config.core,
          ios: config.ios,
          android: config.android,
          queue: config.queue,
          auth: config.auth,
          feedback: config.feedback,
          gorush: config.gorush,
          log: config.log,
        },
      },
      { provide: AppsSettings, useFactory: (): AppsSettings => new AppsSettings(config.apps, config.simulator) },
    ];
    return { module: PushgateConfigModule, providers, exports: providers };
  }
}
