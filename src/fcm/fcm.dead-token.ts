import type { FailureReason } from '../provider/push.provider';

/** FCM error codes that say the registration token is gone or belongs to another sender. */
export const FCM_DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set(['UNREGISTERED', 'SENDER_ID_MISMATCH']);

/**
 * FCM answers INVALID_ARGUMENT both for a malformed registration token and for a bad payload; only its message
 * ("The registration token is not a valid FCM registration token") or a field violation on `message.token` tells
 * them apart. Anything else under INVALID_ARGUMENT is a payload problem and never condemns the token.
 */
const INVALID_TOKEN_DETAIL = /registration token|\bmessage\.token\b/i;

/** The FCM reason when it condemns the registration token; undefined for payload, credential, quota and transport errors. */
export function fcmDeadTokenReason({ reason, detail }: FailureReason): string | undefined {
  if (FCM_DEAD_TOKEN_REASONS.has(reason)) return reason;
  if (reason === 'INVALID_ARGUMENT' && detail !== undefined && INVALID_TOKEN_DETAIL.test(detail)) return reason;
  return undefined;
}
