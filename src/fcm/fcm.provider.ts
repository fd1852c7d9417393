import { Injectable } from '@nestjs/common';
import type { PushProvider } from '../provider/push.provider';
import { PLATFORM_DISABLED, type SendResult } from '../provider/provider.result';
import { PLATFORM_ANDROID, type NotificationDto } from '../notification/notification.dto';
import type { PreparedFcmMessage } from './fcm.client';
import { fcmDeadTokenReason } from './fcm.dead-token';
import { fcmDataProblems, toFcmMessage } from './fcm.payload';
import { FcmService } from './fcm.service';

/** What an Android notification keeps for its pushes: its FCM message, serialised once around the token. */
export interface FcmPrepared {
  readonly fcm?: PreparedFcmMessage;
}

/** FCM HTTP v1 behind the provider contract: data limits, the message serialised once, one send through the app's client. */
@Injectable()
export class FcmProvider implements PushProvider<FcmPrepared> {
  readonly platform = PLATFORM_ANDROID;
  readonly name = 'android';
  readonly title = 'Android';
  readonly deadTokenReason = fcmDeadTokenReason;

  constructor(private readonly fcm: FcmService) {}

  prepare(notification: NotificationDto): FcmPrepared {
    return { fcm: toFcmMessage(notification) };
  }

  /** FCM's documented limits on `data`, checked before anything is queued rather than refused for every token. */
  validate(notification: NotificationDto, _prepared: FcmPrepared, path: string): string[] {
    return fcmDataProblems(notification, path);
  }

  send(app: string, token: string, prepared: FcmPrepared): Promise<SendResult> {
    const client = this.fcm.clients.get(app);
    return client && prepared.fcm ? client.deliver(token, prepared.fcm) : Promise.resolve(PLATFORM_DISABLED);
  }
}
