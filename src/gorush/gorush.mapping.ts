import { DEFAULT_APP, type PushgateConfig } from '../config/pushgate.config';
import { GORUSH_ANDROID, GORUSH_HUAWEI, GORUSH_IOS, type GorushNotificationDto } from './gorush.dto';

/** A pushgate notification as plain JSON, before the validation `POST /push` applies. */
export type PlainNotification = Record<string, unknown>;

/** FCM writes durations as seconds with an `s` suffix (`"3600s"`, `"1.5s"`). */
const FCM_DURATION = /^(\d{1,9})(\.\d{1,9})?s$/;

/** What a Gorush field is called in pushgate's format, for messages written in Gorush's names. */
const GORUSH_NAMES: Record<string, string> = {
  token: 'tokens',
  identifier: 'notif_id',
  expiry: 'expiration',
  collapse_key: 'android.collapse_key',
  time_to_live: 'android.ttl',
  thread_id: 'thread-id',
};

/** A pushgate validation problem (`notifications[0].token: ...`) in Gorush's field names. */
export function inGorushNames(problem: string): string {
  return problem.replace(/^(notifications\[\d+\]\.)([a-z_]+)/, (whole, path: string, field: string) =>
    field in GORUSH_NAMES ? path + GORUSH_NAMES[field] : whole,
  );
}

/** A field class-validator refused as unknown, in words: pushgate does not do what it asks for. */
export function unsupportedField(problem: string): string {
  // class-validator names the unknown field in the path already: `notifications[0].foo: property foo should not exist`.
  return problem.replace(/: property (\S+) should not exist$/, ': not supported by pushgate');
}

/**
 * One Gorush notification as pushgate's: the fields both have pass under pushgate's names, Gorush's extras become
 * the `NotificationDto` fields that carry them, and what pushgate cannot honour is a problem naming the field.
 */
export function toNotification(
  g: GorushNotificationDto,
  path: string,
  nowMs: number,
  config: Pick<PushgateConfig, 'apps'>,
): { notification: PlainNotification; problems: string[] } {
  const problems: string[] = [];
  const tokens = [...(g.tokens ?? []), ...(g.to ? [g.to] : [])];
  if (g.to?.startsWith('/topics/')) problems.push(`${path}.to: FCM topic messages are not supported by pushgate; send to tokens`);
  if (tokens.length === 0) problems.push(`${path}.tokens: tokens must not be nil or empty`);
  if (g.platform === GORUSH_HUAWEI)
    problems.push(`${path}.platform: 3 (Huawei) is not supported by pushgate; only 1 (iOS) and 2 (Android)`);

  const n: PlainNotification = { token: tokens, platform: g.platform, message: g.alert?.body ?? g.notification?.body ?? g.message ?? '' };
  const title = g.alert?.title ?? g.notification?.title ?? g.title;
  if (title) n.title = title;
  if (g.alert?.subtitle) n.subtitle = g.alert.subtitle;
  if (g.notif_id !== undefined) n.identifier = g.notif_id;
  if (g.data !== undefined) n.data = g.data;
  if (g.badge !== undefined) n.badge = g.badge;
  if (g.category) n.category = g.category;
  if (g.content_available) n.content_available = true;
  if (g.mutable_content) n.mutable_content = true;
  if (g.push_type) n.push_type = g.push_type;
  if (typeof g.sound === 'string') {
    if (g.sound !== '') n.sound = g.sound;
  } else if (g.sound) {
    n.critical_sound = { critical: g.sound.critical ?? 0, ...g.sound };
  }

  if (g.platform === GORUSH_IOS) {
    if (g.topic) n.topic = g.topic;
    const threadId = g['thread-id'] ?? g.thread_id;
    if (threadId) n.thread_id = threadId;
    if (g.collapse_id) n.collapse_id = g.collapse_id;
    // Gorush sends an absolute time; pushgate's `expiry` counts from acceptance, which is now.
    if (g.expiration !== undefined && g.expiration * 1000 > nowMs) n.expiry = Math.ceil(g.expiration - nowMs / 1000);
    const sandbox = config.apps[DEFAULT_APP]?.ios.sandbox;
    if (g.production && sandbox === true) problems.push(`${path}.production: this gateway sends to the APNs sandbox (ios.sandbox = true)`);
    if (g.development && sandbox === false)
      problems.push(`${path}.development: this gateway sends to APNs production (ios.sandbox = false)`);
  }

  if (g.platform === GORUSH_ANDROID) {
    if (g.topic) problems.push(`${path}.topic: FCM topic messages are not supported by pushgate; send to tokens`);
    // Gorush shows title and message as the FCM notification, as it does with an image.
    n.fcm_notification = true;
    const image = g.notification?.image ?? g.image;
    if (image) n.image = image;
    const priority = g.android?.priority ?? g.priority;
    if (priority) n.priority = priority;
    if (g.android?.collapse_key) n.collapse_key = g.android.collapse_key;
    if (g.android?.ttl !== undefined) {
      const ttl = FCM_DURATION.exec(g.android.ttl);
      if (ttl) n.time_to_live = Number(ttl[1]);
      else problems.push(`${path}.android.ttl: expected seconds with an "s" suffix, like "3600s"`);
    }
  }
  return { notification: n, problems };
}
