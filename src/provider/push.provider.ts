import type { NotificationDto, Platform, PlatformName } from '../notification/notification.dto';
import type { SendResult } from './provider.result';

/** A failed send as far as its reason goes: the provider's reason and, where it is ambiguous, the detail. */
export interface FailureReason {
  readonly reason: string;
  readonly detail?: string;
}

/**
 * One push service (APNs, FCM) as the gateway uses it: what it checks before a notification is admitted, the
 * payload it builds once per notification, and one send per token, whose every outcome is a {@link SendResult}.
 * `Prepared` is the part of a queued notification that the provider fills in `prepare` and reads back in `send`.
 */
export interface PushProvider<Prepared extends object = object> {
  readonly platform: Platform;
  readonly name: PlatformName;
  /** The platform as messages name it: `iOS`, `Android`. */
  readonly title: string;

  /** The provider payload of a notification, built once at acceptance and shared by its tokens and attempts. */
  prepare(notification: NotificationDto, acceptedAt: number): Prepared;

  /** Problems with what `prepare` built, each naming the field at `path` (`notifications[0]`; empty for the CLI). */
  validate(notification: NotificationDto, prepared: Prepared, path: string): string[];

  /** Sends one push with the app's client; `pushId` names it to the provider the same on every attempt. */
  send(app: string, token: string, prepared: Prepared, pushId?: string): Promise<SendResult>;

  /**
   * The reason to report the token as dead, or undefined when the failure says nothing about the token. Only the
   * provider's named token errors qualify: an unknown reason is never taken for a dead token.
   */
  deadTokenReason(failure: FailureReason): string | undefined;
}

/** `path.field`, or `field` alone where there is no enclosing path. */
export function fieldPath(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** A problem with the notification at `path` as a whole. */
export function notificationProblem(path: string, problem: string): string {
  return path === '' ? problem : `${path}: ${problem}`;
}
