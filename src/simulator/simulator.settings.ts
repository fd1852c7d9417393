import { DEFAULT_APP, type AppConfig } from '../config/pushgate.config';
import type { ProviderSettings } from '../provider/provider.settings';
import type { Simulator, SimulatorCredentialFiles } from './simulator';

/** Where pushes go: the embedded simulator, or the configured APNs and FCM providers. */

/**
 * The provider settings of a gateway without credentials: its default app's clients are pointed at the simulator's
 * endpoints, trust its CA and read its credential files, exactly as they would read real ones.
 */
export function simulatedSettings(
  apps: Readonly<Record<string, AppConfig>>,
  simulator: Simulator,
  files: SimulatorCredentialFiles,
): ProviderSettings {
  const app = apps[DEFAULT_APP];
  const { apns } = simulator.credentials;
  return {
    ...apps,
    [DEFAULT_APP]: {
      ios: {
        ...app.ios,
        pem_cert_path: '',
        pem_key_path: '',
        pem_key_passphrase: '',
        token_auth_key_path: files.apnsKey,
        token_auth_key_id: apns.keyId,
        token_auth_team_id: apns.teamId,
        topic: apns.topic,
        endpoint: new URL(simulator.apnsUrl).host,
        ca_path: files.ca,
      },
      android: {
        ...app.android,
        service_account_path: files.fcmServiceAccount,
        endpoint: new URL(simulator.fcmUrl).host,
        ca_path: files.ca,
      },
    },
  };
}
