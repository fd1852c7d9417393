import type { AndroidConfig, AppConfig, IosConfig, PushgateConfig } from '../config/pushgate.config';

/**
 * Per app, the settings its APNs and FCM clients are built from: the configured ones, or, for the default app of a
 * gateway without credentials, the embedded simulator's endpoints, CA and credential files in their place.
 */
export const PROVIDER_SETTINGS = Symbol('PROVIDER_SETTINGS');

export type ProviderSettings = Readonly<Record<string, { readonly ios: IosConfig; readonly android: AndroidConfig }>>;

/** The configured settings as they are. */
export function configuredSettings(apps: Readonly<Record<string, AppConfig>>): ProviderSettings {
  return apps;
}

export type DeliveryMode = 'simulator' | 'providers';

/**
 * The mode a configuration runs in. The loader decides `config.simulator`: no credentials and `core.simulator` other
 * than `off` (a start without credentials under `off` is refused there, naming the missing keys).
 */
export function deliveryMode(config: Pick<PushgateConfig, 'simulator'>): DeliveryMode {
  return config.simulator ? 'simulator' : 'providers';
}
