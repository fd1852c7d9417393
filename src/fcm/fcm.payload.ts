import { fieldPath, notificationProblem } from '../provider/push.provider';
import type { NotificationDto } from '../notification/notification.dto';
import { FcmClient, type FcmNotification, type PreparedFcmMessage } from './fcm.client';

/** FCM's limit on a message's payload, here its `data` map as compact JSON. */
export const FCM_MAX_DATA_BYTES = 4096;

/** Data keys FCM reserves: `from`, `message_type` and any key starting with `google` or `gcm`. */
export function isReservedFcmDataKey(key: string): boolean {
  return key === 'from' || key === 'message_type' || key.startsWith('google') || key.startsWith('gcm');
}

/**
 * The `data` map of a notification: its message (unless it goes as `fcm_notification`), then the `data` pairs, then
 * the `extend` pairs (a later key replaces an earlier one). FCM data values are strings: others travel JSON-encoded.
 */
export function toFcmData(n: NotificationDto): Record<string, string> {
  const data: Record<string, string> = n.fcm_notification ? {} : { message: n.message };
  for (const [key, value] of Object.entries(n.data ?? {})) data[key] = typeof value === 'string' ? value : JSON.stringify(value);
  for (const e of n.extend ?? []) data[e.key] = e.val;
  return data;
}

/**
 * FCM HTTP v1: `data` as {@link toFcmData}, and with `fcm_notification` the title, message and image as the
 * `notification`; delivery options go into `android`.
 */
export function toFcmMessage(n: NotificationDto): PreparedFcmMessage {
  let notification: FcmNotification | undefined;
  if (n.fcm_notification && (n.title || n.message || n.image)) {
    notification = { title: n.title || undefined, body: n.message || undefined, image: n.image || undefined };
  }
  return FcmClient.prepare(
    toFcmData(n),
    {
      collapse_key: n.collapse_key || undefined,
      priority: n.priority === 'high' ? 'HIGH' : n.priority === 'normal' ? 'NORMAL' : undefined,
      ttl: n.time_to_live !== undefined ? `${n.time_to_live}s` : undefined,
    },
    notification,
  );
}

/** Size in bytes of a `data` map as FCM receives it (compact JSON, UTF-8). */
export function fcmDataBytes(data: Record<string, string>): number {
  return Buffer.byteLength(JSON.stringify(data));
}

/** What FCM would refuse in a notification's `data`, each problem naming its field under `path`. */
export function fcmDataProblems(n: NotificationDto, path: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(n.data ?? {})) {
    if (isReservedFcmDataKey(key))
      problems.push(`${fieldPath(path, `data.${key}`)}: "${key}" is reserved by FCM (from, message_type, google*, gcm*)`);
  }
  n.extend?.forEach((e, i) => {
    if (isReservedFcmDataKey(e.key)) {
      problems.push(`${fieldPath(path, `extend[${i}].key`)}: "${e.key}" is reserved by FCM (from, message_type, google*, gcm*)`);
    }
  });
  const bytes = fcmDataBytes(toFcmData(n));
  if (bytes > FCM_MAX_DATA_BYTES) {
    problems.push(notificationProblem(path, `FCM data is ${bytes} bytes, over the ${FCM_MAX_DATA_BYTES}-byte limit`));
  }
  return problems;
}
