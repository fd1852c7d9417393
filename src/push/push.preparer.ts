import { Injectable } from '@nestjs/common';
import { DEFAULT_APP } from '../config/pushgate.config';
import { ProviderRegistry } from '../provider/provider.registry';
import type { NotificationDto } from '../notification/notification.dto';
import type { QueuedNotification } from './push.queue';

/**
 * Turns a validated notification into what its pushes share: the provider payload built once, by its platform's
 * provider. A queue that stores notifications elsewhere (Redis) rebuilds them here from the DTO, the id prefix and
 * the acceptance time (and the request id, when it has one), so that every attempt sends the same payload.
 */
@Injectable()
export class PushPreparer {
  constructor(private readonly providers: ProviderRegistry) {}

  prepare(dto: NotificationDto, idPrefix: string, acceptedAt: number, requestId?: string): QueuedNotification {
    const base = { dto, platform: dto.platform, app: dto.app ?? DEFAULT_APP, idPrefix, acceptedAt, requestId };
    return { ...base, ...this.providers.of(dto.platform).prepare(dto, acceptedAt) };
  }
}
