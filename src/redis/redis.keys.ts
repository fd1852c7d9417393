/** The consumer group every gateway reads the stream through. */
export const GROUP = 'pushgate';

/** Names of the queue's keys in Redis. */
export interface QueueKeys {
  /** The stream of accepted notifications. */
  readonly stream: string;
  /** Pushes accepted and not yet ended. */
  readonly depth: string;
  /** Dead letters. */
  readonly dead: string;
  /** Prefix of the per-notification bitmaps of ended pushes (followed by the notification's id prefix). */
  readonly done: string;
}

/**
 * Every key carries the prefix as a hash tag (`{pushgate}:stream`), so all of them, bitmaps included, hash to one
 * slot: the scripts touch several at once, which Redis Cluster allows only within one slot. These are the names
 * the queue has used since its first release on a single Redis, so an upgrade finds a running queue where it was,
 * whichever topology (single, Sentinel, Cluster) serves it.
 */
export function queueKeys(prefix: string): QueueKeys {
  const tag = `{${prefix}}`;
  return { stream: `${tag}:stream`, depth: `${tag}:depth`, dead: `${tag}:dead`, done: `${tag}:done:` };
}
