import { DEFAULT_APP, type AppsSettings } from '../config/pushgate.config';
import { PLATFORM_IOS, type NotificationDto, type Platform } from '../push/push.dto';
import { fieldPath, type PlatformName, type PushProvider } from './push.provider';

/** The name of a platform in logs, metrics, results and configuration sections. */
export function platformName(platform: Platform): PlatformName {
  return platform === PLATFORM_IOS ? 'ios' : 'android';
}

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
   * Problems that keep a notification out of the queue on its platform's side: the platform disabled or without
   * credentials for the app, then the provider's own checks of its payload.
   */
  validate(notification: NotificationDto, prepared: object, path: string): string[] {
    const provider = this.of(notification.platform);
    const problems: string[] = [];
    const app = this.apps.app(notification.app ?? DEFAULT_APP);
    if (app && !app[provider.name].enabled) {
      problems.push(
        notification.app === undefined
          ? `${fieldPath(path, 'platform')}: ${provider.title} is disabled (${provider.name}.enabled = false)`
          : `${fieldPath(path, 'platform')}: app "${notification.app}" has no ${provider.title} credentials`,
      );
    }
    problems.push(...provider.validate(notification, prepared, path));
    return problems;
  }
}
