import type { FailureReason } from '../provider/push.provider';

/** APNs reasons that say the device token itself will never be delivered to again. */
export const APNS_DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set([
  'Unregistered',
  'BadDeviceToken',
  'DeviceTokenNotForTopic',
  'ExpiredToken',
]);

/** The APNs reason when it condemns the device token; undefined for payload, credential and transport errors. */
export function apnsDeadTokenReason({ reason }: FailureReason): string | undefined {
  return APNS_DEAD_TOKEN_REASONS.has(reason) ? reason : undefined;
}
