import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { Simulator } from './simulator';

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

@Global()
@Module({
  providers: [
    {
      provide: EMBEDDED_SIMULATOR,
      inject: [pushgateConfig.KEY],
      useFactory: async (config: PushgateConfig): Promise<EmbeddedSimulator | null> => {
        if (!config.simulator) return null;
        const simulator = await Simulator.start({ topic: config.ios.topic || undefined, recordLimit: 1000 });
        const files = simulator.writeCredentials(mkdtempSync(join(tmpdir(), 'pushgate-simulator-')));
        new Logger('Simulator').error(
          `NO PROVIDER CREDENTIALS CONFIGURED: pushes go to the embedded APNs/FCM simulator ` +
            `(APNs ${simulator.apnsUrl}, FCM ${simulator.fcmUrl}), not to Apple or Google. ` +
            `Set the ios.* and android.* credential keys to deliver for real.`,
        );
        return { simulator, files };
      },
    },
    SimulatorLifecycle,
  ],
  exports: [EMBEDDED_SIMULATOR],
})
export class SimulatorModule {}
