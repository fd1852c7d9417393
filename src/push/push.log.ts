import type { Logger } from 'pino';
import { platformName, type NotificationDto } from '../notification/notification.dto';

/** Masks a device token for logs: enough to correlate, not enough to push to it. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '*'.repeat(token.length) : `${token.slice(0, 8)}...${token.slice(-4)}`;
}

/** The notification fields the per-push lines carry, from which `pushgate recover` rebuilds a notification. */
export const LOGGED_FIELDS = [
  'app',
  'message',
  'identifier',
  'title',
  'subtitle',
  'badge',
  'category',
  'sound',
  'content_available',
  'mutable_content',
  'expiry',
  'push_type',
  'collapse_key',
  'delay_while_idle',
  'time_to_live',
  'priority',
  'extend',
] as const;

/**
 * The access-log child for one notification: its platform and every non-empty field, as Gaurun logged them, then
 * `last` (fields every line of this child shares, such as its `type`: serialised once instead of on every line).
 */
export function notificationLogger(access: Logger, n: NotificationDto, last?: Record<string, unknown>): Logger {
  return access.child(notificationFields(n, last));
}

/** The fields {@link notificationLogger} binds, in its order, for a line logged without a child. */
export function notificationFields(n: NotificationDto, last?: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = { platform: platformName(n.platform) };
  for (const field of LOGGED_FIELDS) {
    const value = n[field];
    if (value !== undefined && value !== '' && value !== false && !(Array.isArray(value) && value.length === 0)) {
      fields[field] = value;
    }
  }
  return last ? Object.assign(fields, last) : fields;
}
