import { Injectable } from '@nestjs/common';
import { Notification, type NotificationOptions } from 'apns2';
import { notificationProblem, type PushProvider } from '../provider/push.provider';
import type { SendResult } from '../provider/provider.result';
import { PLATFORM_IOS, type NotificationDto } from '../push/push.dto';
import { apnsIdOf } from './apns.client';
import { APNS_MAX_PAYLOAD_BYTES, apnsExtendProblems, apnsPayloadBytes, toApnsOptions } from './apns.payload';
import { ApnsService } from './apns.service';

/** What an iOS notification keeps for its pushes: apns2's options, from which each push builds its payload. */
export interface ApnsPrepared {
  readonly apns?: NotificationOptions;
}

const DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

/** APNs behind the provider contract: payload limits, apns2 options, one send through the app's client. */
@Injectable()
export class ApnsProvider implements PushProvider<ApnsPrepared> {
  readonly platform = PLATFORM_IOS;
  readonly name = 'ios';
  readonly title = 'iOS';

  constructor(private readonly apns: ApnsService) {}

  prepare(notification: NotificationDto, acceptedAt: number): ApnsPrepared {
    return { apns: toApnsOptions(notification, acceptedAt) };
  }

  validate(notification: NotificationDto, prepared: ApnsPrepared, path: string): string[] {
    const problems = apnsExtendProblems(notification, path);
    const bytes = apnsPayloadBytes(prepared.apns ?? {});
    if (bytes > APNS_MAX_PAYLOAD_BYTES) {
      problems.push(notificationProblem(path, `APNs payload is ${bytes} bytes, over the ${APNS_MAX_PAYLOAD_BYTES}-byte limit`));
    }
    return problems;
  }

  send(app: string, token: string, prepared: ApnsPrepared, pushId?: string): Promise<SendResult> {
    const client = this.apns.clients.get(app);
    if (!client) return Promise.resolve(DISABLED);
    return client.deliver(new Notification(token, prepared.apns), pushId === undefined ? undefined : apnsIdOf(pushId));
  }
}
