import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { AppsSettings } from '../config/pushgate.config';
import type { PushProvider } from './push.provider';
import { ProviderRegistry } from './provider.registry';
import { SendRetryPolicy } from './provider.retry';

/** A provider implementation and the module that provides it (with its clients). */
export interface ProviderBinding {
  readonly module: Type;
  readonly provider: Type<PushProvider>;
}

/** The push providers the application is composed with, behind one {@link ProviderRegistry}, and the retry policy. */
@Module({})
export class ProviderModule {
  static register(bindings: readonly ProviderBinding[]): DynamicModule {
    return {
      module: ProviderModule,
      imports: bindings.map((b) => b.module),
      providers: [
        {
          provide: ProviderRegistry,
          inject: [AppsSettings, ...bindings.map((b) => b.provider)],
          useFactory: (apps: AppsSettings, ...providers: PushProvider[]): ProviderRegistry => new ProviderRegistry(apps, providers),
        },
        SendRetryPolicy,
      ],
      exports: [ProviderRegistry, SendRetryPolicy, ...bindings.map((b) => b.module)],
    };
  }
}
