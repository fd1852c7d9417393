import type { AppConfig } from './config.schema';

/**
 * The apps' settings in force: those loaded at boot until a reload replaces them. What must follow a reload (the
 * `retry_max` of each send) reads {@link current} when it needs it, never a copy kept from boot; what takes effect
 * only after a restart (the set of apps, `in_flight_max`, `api_keys`) may be read once.
 */
export class AppsSettings {
  private apps: Readonly<Record<string, AppConfig>>;

  constructor(
    apps: Record<string, AppConfig>,
    /** True when the embedded simulator stands in for APNs and FCM; a reload cannot change it. */
    readonly simulator: boolean,
  ) {
    this.apps = apps;
  }

  /** Every configured app by name, as in force now. */
  current(): Readonly<Record<string, AppConfig>> {
    return this.apps;
  }

  /** One app's settings, or undefined for an app that is not configured. */
  app(name: string): AppConfig | undefined {
    return this.apps[name];
  }

  /** Puts a reloaded configuration's apps in force, all at once; the previous objects are left as they were. */
  replace(apps: Record<string, AppConfig>): void {
    this.apps = apps;
  }
}
