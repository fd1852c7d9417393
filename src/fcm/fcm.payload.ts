import type { NotificationDto } from '../push/push.dto';
import { FcmClient, type PreparedFcmMessage } from './fcm.client';

/** FCM HTTP v1: `data` is the message plus the `extend` pairs; delivery options go into `android`. */
export function toFcmMessage(n: NotificationDto): PreparedFcmMessage {
  const data: Record<string, string> = { message: n.message };
  for (const e of n.extend ?? []) data[e.key] = e.val;
  return FcmClient.prepare(data, {
    collapse_key: n.collapse_key || undefined,
    priority: n.priority === 'high' ? 'HIGH' : n.priority === 'normal' ? 'NORMAL' : undefined,
    ttl: n.time_to_live !== undefined ? `${n.time_to_live}s` : undefined,
  });
}
