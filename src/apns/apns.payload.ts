import { Notification, Priority, PushType, type NotificationOptions } from 'apns2';
import type { NotificationDto } from '../push/push.dto';

export const APNS_MAX_PAYLOAD_BYTES = 4096;

/** apns2 options for a notification; `expiry` becomes an absolute `apns-expiration` at acceptance. */
export function toApnsOptions(n: NotificationDto, nowMs: number): NotificationOptions {
  const background = n.push_type === 'background';
  const options: NotificationOptions = {
    type: background ? PushType.background : PushType.alert,
    // Apple requires priority 5 for background pushes; 10 is apns2's default and sends no header.
    priority: background ? Priority.throttled : Priority.immediate,
  };
  if (n.title || n.subtitle) {
    options.alert = { title: n.title ?? '', body: n.message };
    if (n.subtitle) options.alert.subtitle = n.subtitle;
  } else if (n.message !== '') {
    options.alert = n.message;
  }
  if (n.badge !== undefined) options.badge = n.badge;
  if (n.critical_sound) options.sound = { ...n.critical_sound };
  else if (n.sound) options.sound = n.sound;
  if (n.category) options.category = n.category;
  if (n.content_available) options.contentAvailable = true;
  if (n.mutable_content) options.mutableContent = true;
  if (n.expiry) options.expiration = Math.floor(nowMs / 1000) + n.expiry;
  if (n.topic) options.topic = n.topic;
  if (n.thread_id) options.threadId = n.thread_id;
  if (n.collapse_id) options.collapseId = n.collapse_id;
  if (n.data || n.extend?.length) options.data = { ...n.data, ...Object.fromEntries((n.extend ?? []).map((e) => [e.key, e.val])) };
  return options;
}

/** Size in bytes of the APNs payload apns2 will send for these options. */
export function apnsPayloadBytes(options: NotificationOptions): number {
  return Buffer.byteLength(JSON.stringify(new Notification('', options).buildApnsOptions()));
}
