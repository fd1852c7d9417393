import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApnsService } from '../apns/apns.service';
import type { GatewayApnsClient } from '../apns/apns.client';
import {
  AppsSettings,
  AUTH_CONFIG,
  CONFIG_SOURCE,
  ConfigError,
  CORE_CONFIG,
  DEFAULT_APP,
  FEEDBACK_CONFIG,
  GORUSH_CONFIG,
  loadConfig,
  LOG_CONFIG,
  QUEUE_CONFIG,
  type AppConfig,
  type AuthConfig,
  type ConfigSource,
  type CoreConfig,
  type FeedbackConfig,
  type GorushConfig,
  type LogConfig,
  type PushgateConfig,
  type QueueConfig,
} from '../config/pushgate.config';
import type { FcmClient } from '../fcm/fcm.client';
import { FcmService } from '../fcm/fcm.service';

export interface ReloadOutcome {
  /** `<app>.ios` / `<app>.android` whose clients were replaced. */
  reloaded: string[];
  /** Keys that changed but only take effect after a restart. */
  restart_required: string[];
}

/** Settings read at each send (by the dispatcher), applied without a new client. */
const LIVE_KEYS = new Set(['retry_max']);

/** The sections a reload does not apply: a change to any of their keys is reported as needing a restart. */
type RestartSections = Pick<PushgateConfig, 'core' | 'queue' | 'auth' | 'feedback' | 'gorush' | 'log'>;

/**
 * Re-reads the configuration from where the gateway read it at start, puts the apps' new provider settings in force
 * ({@link AppsSettings}), and for every app whose client settings changed swaps in new APNs/FCM clients; the old ones
 * finish their requests in flight before they close.
 */
@Injectable()
export class ReloadService {
  private readonly logger = new Logger(ReloadService.name);
  /** Credential file contents behind each `<app>.<platform>` client in use. */
  private readonly digests = new Map<string, string>();

  private readonly boot: RestartSections;

  constructor(
    @Inject(CORE_CONFIG) core: CoreConfig,
    @Inject(QUEUE_CONFIG) queue: QueueConfig,
    @Inject(AUTH_CONFIG) auth: AuthConfig,
    @Inject(FEEDBACK_CONFIG) feedback: FeedbackConfig,
    @Inject(GORUSH_CONFIG) gorush: GorushConfig,
    @Inject(LOG_CONFIG) log: LogConfig,
    @Inject(CONFIG_SOURCE) private readonly source: ConfigSource,
    private readonly apps: AppsSettings,
    private readonly apns: ApnsService,
    private readonly fcm: FcmService,
  ) {
    this.boot = { core, queue, auth, feedback, gorush, log };
    for (const [name, app] of Object.entries(apps.current())) {
      for (const platform of ['ios', 'android'] as const) this.digests.set(`${name}.${platform}`, filesDigest(app[platform]));
    }
  }

  private changed(name: string, next: AppConfig, platform: 'ios' | 'android'): boolean {
    return (
      clientChanged(this.apps.current()[name], next, platform) || this.digests.get(`${name}.${platform}`) !== filesDigest(next[platform])
    );
  }

  /**
   * Synchronous from reading to swapping, so no send sees half a reload. A configuration that is invalid, or that
   * would need a restart to apply, throws a {@link ConfigError} and leaves everything as it was.
   */
  reload(): ReloadOutcome {
    try {
      return this.apply(loadConfig(this.source));
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [(error as Error).message];
      this.logger.error(`configuration reload refused, the current clients stay in use: ${problems.join('; ')}`);
      throw error instanceof ConfigError ? error : new ConfigError(problems);
    }
  }

  private apply(next: PushgateConfig): ReloadOutcome {
    this.refuseStructuralChanges(next);
    const apns: [string, GatewayApnsClient][] = [];
    const fcm: [string, FcmClient][] = [];
    try {
      for (const [name, app] of Object.entries(next.apps)) {
        // The embedded simulator's default app has no credentials to reload.
        if (next.simulator && name === DEFAULT_APP) continue;
        if (app.ios.enabled && this.changed(name, app, 'ios')) apns.push([name, this.apns.build(app.ios, name)]);
        if (app.android.enabled && this.changed(name, app, 'android')) fcm.push([name, this.fcm.build(app.android, name)]);
      }
    } catch (error) {
      for (const [, client] of [...apns, ...fcm]) void client.close();
      throw new ConfigError([`cannot build the new clients: ${(error as Error).message}`]);
    }
    const current = this.apps.current();
    // Only the provider settings apply now; `in_flight_max` and `api_keys` stay as booted until a restart.
    this.apps.replace(
      Object.fromEntries(Object.entries(next.apps).map(([name, app]) => [name, { ...current[name], ios: app.ios, android: app.android }])),
    );
    for (const [name, app] of Object.entries(next.apps)) {
      for (const platform of ['ios', 'android'] as const) this.digests.set(`${name}.${platform}`, filesDigest(app[platform]));
    }
    for (const [name, client] of apns) this.apns.swap(name, client);
    for (const [name, client] of fcm) this.fcm.swap(name, client);
    const outcome = {
      reloaded: [...apns.map(([name]) => `${name}.ios`), ...fcm.map(([name]) => `${name}.android`)],
      restart_required: restartOnlyChanges(this.boot, current, next),
    };
    this.logger.log(
      `configuration reloaded: ${outcome.reloaded.length > 0 ? `new clients for ${outcome.reloaded.join(', ')}` : 'no credential changed'}`,
    );
    if (outcome.restart_required.length > 0)
      this.logger.warn(`changed keys that take effect after a restart: ${outcome.restart_required.join(', ')}`);
    return outcome;
  }

  private refuseStructuralChanges(next: PushgateConfig): void {
    const problems: string[] = [];
    const apps = this.apps.current();
    const before = Object.keys(apps).sort();
    const after = Object.keys(next.apps).sort();
    if (!isDeepStrictEqual(before, after)) {
      problems.push(
        `apps: the set of apps changed (${before.join(', ') || 'none'} -> ${after.join(', ') || 'none'}); adding or removing an app needs a restart`,
      );
    }
    if (next.simulator !== this.apps.simulator)
      problems.push('switching between the embedded simulator and real credentials needs a restart');
    for (const name of after.filter((n) => before.includes(n))) {
      for (const platform of ['ios', 'android'] as const) {
        if (next.apps[name][platform].enabled !== apps[name][platform].enabled) {
          problems.push(`${keyOf(name, platform, 'enabled')}: enabling or disabling a platform needs a restart`);
        }
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);
  }
}

function keyOf(app: string, platform: 'ios' | 'android', key: string): string {
  return app === DEFAULT_APP ? `${platform}.${key}` : `apps.${app}.${platform}.${key}`;
}

/** True when a setting the client is built from changed. */
function clientChanged(current: AppConfig, next: AppConfig, platform: 'ios' | 'android'): boolean {
  const a = current[platform] as unknown as Record<string, unknown>;
  const b = next[platform] as unknown as Record<string, unknown>;
  return Object.keys(b).some((key) => !LIVE_KEYS.has(key) && a[key] !== b[key]);
}

const FILE_KEYS = ['pem_cert_path', 'pem_key_path', 'token_auth_key_path', 'service_account_path', 'ca_path'];

/** A digest of the credential files a platform's client reads, so that a file replaced at the same path counts. */
function filesDigest(settings: object): string {
  const hash = createHash('sha256');
  for (const key of FILE_KEYS) {
    const path = (settings as Record<string, unknown>)[key];
    if (typeof path !== 'string' || path === '') continue;
    try {
      hash.update(readFileSync(path));
    } catch {
      hash.update(`unreadable ${path}`);
    }
  }
  return hash.digest('hex');
}

function restartOnlyChanges(boot: RestartSections, apps: Readonly<Record<string, AppConfig>>, next: PushgateConfig): string[] {
  const changed: string[] = [];
  for (const section of Object.keys(boot) as (keyof RestartSections)[]) {
    const a = boot[section] as unknown as Record<string, unknown>;
    const b = next[section] as unknown as Record<string, unknown>;
    for (const key of Object.keys(b)) if (!isDeepStrictEqual(a[key], b[key])) changed.push(`${section}.${key}`);
  }
  for (const [name, app] of Object.entries(next.apps)) {
    for (const key of ['in_flight_max', 'api_keys'] as const) {
      if (apps[name][key] !== app[key]) changed.push(name === DEFAULT_APP ? key : `apps.${name}.${key}`);
    }
  }
  return changed;
}
