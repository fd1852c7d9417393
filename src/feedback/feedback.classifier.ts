import { PLATFORM_IOS, type Platform } from '../notification/notification.dto';
import type { PushOutcome } from '../push/push.events';

/** APNs reasons that say the device token itself will never be delivered to again. */
export const APNS_DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set([
  'Unregistered',
  'BadDeviceToken',
  'DeviceTokenNotForTopic',
  'ExpiredToken',
]);

/** FCM error codes that say the registration token is gone or belongs to another sender. */
export const FCM_DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set(['UNREGISTERED', 'SENDER_ID_MISMATCH']);

/**
 * FCM answers INVALID_ARGUMENT both for a malformed registration token and for a bad payload; only its message
 * ("The registration token is not a valid FCM registration token") or a field violation on `message.token` tells
 * them apart. Anything else under INVALID_ARGUMENT is a payload problem and never condemns the token.
 */
const INVALID_TOKEN_DETAIL = /registration token|\bmessage\.token\b/i;

/**
 * The reason to report a push's token as dead, or undefined when the failure says nothing about the token
 * (payload, credential, quota and transport errors; successes). Only named token errors qualify: an unknown
 * reason is never taken for a dead token.
 */
export function deadTokenReason(platform: Platform, outcome: PushOutcome): string | undefined {
  if (outcome.ok) return undefined;
  const { reason } = outcome;
  if (platform === PLATFORM_IOS) return APNS_DEAD_TOKEN_REASONS.has(reason) ? reason : undefined;
  if (FCM_DEAD_TOKEN_REASONS.has(reason)) return reason;
  if (reason === 'INVALID_ARGUMENT' && outcome.detail !== undefined && INVALID_TOKEN_DETAIL.test(outcome.detail)) return reason;
  return undefined;
}
