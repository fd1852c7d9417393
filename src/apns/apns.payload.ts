import { Priority, PushType, type NotificationOptions } from 'apns2';
import { fieldPath } from '../provider/push.provider';
import type { NotificationDto } from '../notification/notification.dto';

export const APNS_MAX_PAYLOAD_BYTES = 4096;

/** The payload key Apple reserves for its own dictionary; an `extend` pair of that name would replace it. */
export const APNS_RESERVED_KEY = 'aps';

/**
 * Whether a notification goes as a background push: asked for with `push_type: background`, or one that only
 * wakes the app (`content_available` with no alert, sound or badge), which Apple refuses at priority 10.
 */
export function isBackgroundPush(n: NotificationDto): boolean {
  if (n.push_type === 'background') return true;
  return (
    n.content_available === true && !n.title && !n.subtitle && n.message === '' && n.badge === undefined && !n.sound && !n.critical_sound
  );
}

/**
 * apns2 options for a notification; `expiry` becomes an absolute `apns-expiration` at acceptance. A background push
 * goes as Apple requires: `apns-push-type: background`, priority 5, `content-available` and no alert, sound or badge.
 * Empty title, subtitle and body are left out rather than sent as `""`.
 */
export function toApnsOptions(n: NotificationDto, nowMs: number): NotificationOptions {
  const background = isBackgroundPush(n);
  const options: NotificationOptions = {
    type: background ? PushType.background : PushType.alert,
    // 10 is apns2's default and sends no header.
    priority: background ? Priority.throttled : Priority.immediate,
  };
  if (background) {
    options.contentAvailable = true;
  } else {
    if (n.title || n.subtitle) {
      const alert: { title?: string; subtitle?: string; body?: string } = {};
      if (n.title) alert.title = n.title;
      if (n.subtitle) alert.subtitle = n.subtitle;
      if (n.message !== '') alert.body = n.message;
      // Apple makes every alert key optional; apns2's type requires a title and a body.
      options.alert = alert as NotificationOptions['alert'];
    } else if (n.message !== '') {
      options.alert = n.message;
    }
    if (n.badge !== undefined) options.badge = n.badge;
    if (n.critical_sound) options.sound = { ...n.critical_sound };
    else if (n.sound) options.sound = n.sound;
    if (n.content_available) options.contentAvailable = true;
  }
  if (n.category) options.category = n.category;
  if (n.mutable_content) options.mutableContent = true;
  if (n.expiry) options.expiration = Math.floor(nowMs / 1000) + n.expiry;
  if (n.topic) options.topic = n.topic;
  if (n.thread_id) options.threadId = n.thread_id;
  if (n.collapse_id) options.collapseId = n.collapse_id;
  if (n.data || n.extend?.length) options.data = { ...n.data, ...Object.fromEntries((n.extend ?? []).map((e) => [e.key, e.val])) };
  return options;
}

/** Problems with a notification's `data` and `extend` pairs as APNs payload keys, each naming its field under `path`. */
export function apnsExtendProblems(n: NotificationDto, path: string): string[] {
  const problems: string[] = [];
  if (n.data && APNS_RESERVED_KEY in n.data) {
    problems.push(`${fieldPath(path, `data.${APNS_RESERVED_KEY}`)}: "${APNS_RESERVED_KEY}" is Apple's own dictionary in the APNs payload`);
  }
  n.extend?.forEach((e, i) => {
    if (e.key === APNS_RESERVED_KEY) {
      problems.push(`${fieldPath(path, `extend[${i}].key`)}: "${APNS_RESERVED_KEY}" is Apple's own dictionary in the APNs payload`);
    }
  });
  return problems;
}
