/** The outcome of one delivery attempt, as the queue sees it: vendor errors never cross this boundary. */
export type SendResult =
  | { ok: true }
  | {
      ok: false;
      /** The provider's reason (`BadDeviceToken`, `UNREGISTERED`) or a transport reason (`Timeout`). */
      reason: string;
      retryable: boolean;
      /** The provider asked to wait at least this long before the next attempt. */
      retryAfterMs?: number;
      /** The provider's own explanation when the reason alone is ambiguous (FCM's `error.message`). */
      detail?: string;
    };

export const SENT: SendResult = { ok: true };

/** The app has no client for the platform (its credentials are not configured). */
export const PLATFORM_DISABLED: SendResult = { ok: false, reason: 'PlatformDisabled', retryable: false };

/** Parses a `Retry-After` header given in seconds or as an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
