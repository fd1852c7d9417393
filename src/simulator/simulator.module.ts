import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsSettings, DEFAULT_APP } from '../config/pushgate.config';
import { configuredSettings, PROVIDER_SETTINGS, type ProviderSettings } from '../provider/provider.settings';
import type { Simulator } from './simulator';
import { simulatedSettings } from './simulator.settings';

/** The embedded APNs/FCM simulator, or null when real credentials are configured. */
export const EMBEDDED_SIMULATOR = Symbol('EMBEDDED_SIMULATOR');

/** Files the gateway's clients read, as they would read real credentials. */
export interface EmbeddedSimulator {
  simulator: Simulator;
  files: ReturnType<Simulator['writeCredentials']>;
}

class SimulatorLifecycle implements OnApplicationShutdown {
  constructor(@Inject(EMBEDDED_SIMULATOR) private readonly embedded: EmbeddedSimulator | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.embedded?.simulator.close();
  }
}

/**
 * Resolves the settings the provider clients are built from: the configured ones, or, without credentials, those
 * of an embedded simulator started here. The clients never know which.
 */
@Global()
@Module({
  providers: [
    {
      provide: EMBEDDED_SIMULATOR,
      inject: [AppsSettings],
      useFactory: async (apps: AppsSettings): Promise<EmbeddedSimulator | null> => {
        if (!apps.simulator) return null;
        // Loaded only here: a gateway with credentials runs without the simulator's servers and certificate code.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Simulator } = require('./simulator') as typeof import('./simulator');
        const simulator = await Simulator.start({ topic: apps.app(DEFAULT_APP)?.ios.topic || undefined, recordLimit: 1000 });
        const files = simulator.writeCredentials(mkdtempSync(join(tmpdir(), 'pushgate-simulator-')));
        new Logger('Simulator').error(
          `NO PROVIDER CREDENTIALS CONFIGURED: pushes go to the embedded APNs/FCM simulator ` +
            `(APNs ${simulator.apnsUrl}, FCM ${simulator.fcmUrl}), not to Apple or Google. ` +
            `Set the ios.* and android.* credential keys to deliver for real; core.simulator = "off" refuses to start without them.`,
        );
        return { simulator, files };
      },
    },
    {
      provide: PROVIDER_SETTINGS,
      inject: [AppsSettings, EMBEDDED_SIMULATOR],
      useFactory: (apps: AppsSettings, embedded: EmbeddedSimulator | null): ProviderSettings =>
        embedded ? simulatedSettings(apps.current(), embedded.simulator, embedded.files) : configuredSettings(apps.current()),
    },
    SimulatorLifecycle,
  ],
  exports: [EMBEDDED_SIMULATOR, PROVIDER_SETTINGS],
})
export class SimulatorModule {}
