import type { NotificationDto } from '../push/push.dto';
import { FcmClient, type FcmNotification, type PreparedFcmMessage } from './fcm.client';

/**
 * FCM HTTP v1: `data` is the message plus the `data` and `extend` pairs, or with `fcm_notification` the title,
 * message and image as the `notification` and `data` without the message; delivery options go into `android`.
 */
export function toFcmMessage(n: NotificationDto): PreparedFcmMessage {
  const data: Record<string, string> = n.fcm_notification ? {} : { message: n.message };
  // FCM data values are strings: others travel JSON-encoded.
  for (const [key, value] of Object.entries(n.data ?? {})) data[key] = typeof value === 'string' ? value : JSON.stringify(value);
  for (const e of n.extend ?? []) data[e.key] = e.val;
  let notification: FcmNotification | undefined;
  if (n.fcm_notification && (n.title || n.message || n.image)) {
    notification = { title: n.title || undefined, body: n.message || undefined, image: n.image || undefined };
  }
  return FcmClient.prepare(
    data,
    {
      collapse_key: n.collapse_key || undefined,
      priority: n.priority === 'high' ? 'HIGH' : n.priority === 'normal' ? 'NORMAL' : undefined,
      ttl: n.time_to_live !== undefined ? `${n.time_to_live}s` : undefined,
    },
    notification,
  );
}
