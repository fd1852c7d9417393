import { Injectable } from '@nestjs/common';
import { AppsSettings, DEFAULT_APP } from '../config/pushgate.config';
import { fieldPath, notificationProblem, type PushProvider } from '../provider/push.provider';
import { PLATFORM_DISABLED, type SendResult } from '../provider/provider.result';
import { PLATFORM_IOS, type NotificationDto } from '../notification/notification.dto';
import { apnsIdOf, apnsMessage, type ApnsMessage } from './apns.client';
import { apnsDeadTokenReason } from './apns.dead-token';
import { APNS_MAX_PAYLOAD_BYTES, apnsExtendProblems, toApnsOptions } from './apns.payload';
import { ApnsService } from './apns.service';

/** What an iOS notification keeps for its pushes: apns2's options and its payload, serialised once. */
export interface ApnsPrepared {
  readonly apns?: ApnsMessage;
}

const NO_OPTIONS = apnsMessage();

/** APNs behind the provider contract: payload limits, apns2 options, one send through the app's client. */
@Injectable()
export class ApnsProvider implements PushProvider<ApnsPrepared> {
  readonly platform = PLATFORM_IOS;
  readonly name = 'ios';
  readonly title = 'iOS';
  readonly deadTokenReason = apnsDeadTokenReason;

  constructor(
    private readonly apns: ApnsService,
    private readonly apps: AppsSettings,
  ) {}

  prepare(notification: NotificationDto, acceptedAt: number): ApnsPrepared {
    return { apns: apnsMessage(toApnsOptions(notification, acceptedAt)) };
  }

  validate(notification: NotificationDto, prepared: ApnsPrepared, path: string): string[] {
    const problems = apnsExtendProblems(notification, path);
    const topicProblem = this.topicProblem(notification);
    if (topicProblem) problems.push(`${fieldPath(path, 'topic')}: ${topicProblem}`);
    const bytes = Buffer.byteLength((prepared.apns ?? NO_OPTIONS).payload);
    if (bytes > APNS_MAX_PAYLOAD_BYTES) {
      problems.push(notificationProblem(path, `APNs payload is ${bytes} bytes, over the ${APNS_MAX_PAYLOAD_BYTES}-byte limit`));
    }
    return problems;
  }

  /**
   * A topic other than the app's own must be listed in its `ios.topics`: the credential would otherwise sign pushes
   * to any bundle id its team owns, for whoever may push to the app.
   */
  private topicProblem({ topic, app = DEFAULT_APP }: NotificationDto): string | undefined {
    const ios = this.apps.app(app)?.ios;
    if (topic === undefined || !ios || topic === ios.topic) return undefined;
    const allowed = ios.topics.split(',').map((t) => t.trim());
    if (allowed.includes(topic)) return undefined;
    const key = app === DEFAULT_APP ? 'ios.topics' : `apps.${app}.ios.topics`;
    return `"${topic}" is not one of the topics this app may push to (${key})`;
  }

  send(app: string, token: string, prepared: ApnsPrepared, pushId?: string): Promise<SendResult> {
    const client = this.apns.clients.get(app);
    if (!client) return Promise.resolve(PLATFORM_DISABLED);
    return client.send(token, prepared.apns ?? NO_OPTIONS, pushId === undefined ? undefined : apnsIdOf(pushId));
  }
}
