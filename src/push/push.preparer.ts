import { Injectable } from '@nestjs/common';
import { DEFAULT_APP } from '../config/pushgate.config';
import { PLATFORM_IOS, type NotificationDto } from './push.dto';
import { toApnsOptions, toFcmMessage } from './push.payload';
import type { QueuedNotification } from './push.queue';

/**
 * Turns a validated notification into what its pushes share: the provider payload built once. A queue that stores
 * notifications elsewhere (Redis) rebuilds them here from the DTO, the id prefix and the acceptance time (and the
 * request id, when it has one), so that every attempt sends the same payload.
 */
@Injectable()
export class PushPreparer {
  prepare(dto: NotificationDto, idPrefix: string, acceptedAt: number, requestId?: string): QueuedNotification {
    const base = { dto, platform: dto.platform, app: dto.app ?? DEFAULT_APP, idPrefix, acceptedAt, requestId };
    return dto.platform === PLATFORM_IOS ? { ...base, apns: toApnsOptions(dto, acceptedAt) } : { ...base, fcm: toFcmMessage(dto) };
  }
}
