import type { ApnsService } from '../../src/apns/apns.service';
import { ApnsProvider } from '../../src/apns/apns.provider';
import { AppsSettings, type AppConfig } from '../../src/config/pushgate.config';
import type { FcmService } from '../../src/fcm/fcm.service';
import { FcmProvider } from '../../src/fcm/fcm.provider';
import { ProviderRegistry } from '../../src/provider/provider.registry';
import { PushPreparer } from '../../src/push/push.preparer';

/**
 * The gateway's preparer with both providers, for specs that need queued notifications: preparing builds payloads
 * only, so the providers get no clients.
 */
export function payloadPreparer(apps: Record<string, AppConfig> = {}): PushPreparer {
  const settings = new AppsSettings(apps, false);
  const providers = [new ApnsProvider({} as ApnsService, settings), new FcmProvider({} as FcmService)];
  return new PushPreparer(new ProviderRegistry(settings, providers));
}
