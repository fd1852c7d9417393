import { DEFAULT_APP, type AppsSettings } from '../config/pushgate.config';
import { type NotificationDto, type Platform } from '../notification/notification.dto';
import { fieldPath, type PushProvider } from './push.provider';

/** The providers the gateway was composed with, by platform: the one way the senders reach APNs and FCM. */
export class ProviderRegistry {
  private readonly byPlatform = new Map<Platform, PushProvider>();

  constructor(
    private readonly apps: AppsSettings,
    providers: readonly PushProvider[],
  ) {
    for (const provider of providers) this.byPlatform.set(provider.platform, provider);
  }

  of(platform: Platform): PushProvider {
    const provider = this.byPlatform.get(platform);
    if (!provider) throw new Error(`no push provider for platform ${platform}`);
    return provider;
  }

  /**
   * Whether the notification goes to a platform switched off for the default app (`ios.enabled = false`): its pushes
   * are skipped rather than refused, as Gaurun skipped them, so that the other platform's pushes of the request go.
   */
  disabled(notification: NotificationDto): boolean {
    const name = notification.app ?? DEFAULT_APP;
    if (name !== DEFAULT_APP) return false;
    const app = this.apps.app(DEFAULT_APP);
    return app !== undefined && !app[this.of(notification.platform).name].enabled;
  }

  /**
   * Problems that keep a notification out of the queue on its platform's side: a named app without credentials for
   * the platform (a client error, unlike the default app's disabled platform), then the provider's own checks of its
   * payload.
   */
  validate(notification: NotificationDto, prepared: object, path: string): string[] {
    const provider = this.of(notification.platform);
    const problems: string[] = [];
    const name = notification.app ?? DEFAULT_APP;
    const app = this.apps.app(name);
    if (app && name !== DEFAULT_APP && !app[provider.name].enabled) {
      problems.push(`${fieldPath(path, 'platform')}: app "${name}" has no ${provider.title} credentials`);
    }
    problems.push(...provider.validate(notification, prepared, path));
    return problems;
  }
}
