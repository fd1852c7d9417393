import { SimFaults } from './simulator.faults';

export type SimAuth =
  | { kind: 'jwt'; keyId: string; teamId: string }
  | { kind: 'cert'; subject: string }
  | { kind: 'oauth'; project: string }
  | { kind: 'none' };

export interface SimRecord {
  platform: 'ios' | 'android';
  token: string;
  /** 0 while a `sim-hang-*` request is left unanswered. */
  status: number;
  reason?: string;
  headers: Record<string, string>;
  payload: unknown;
  auth: SimAuth;
  attempt: number;
  at: number;
}

export interface PlatformCounts {
  total: number;
  ok: number;
  errors: Record<string, number>;
}

export interface SimCounts {
  apns: PlatformCounts;
  fcm: PlatformCounts;
  oauth: number;
}

export const NO_AUTH: SimAuth = Object.freeze({ kind: 'none' });

/** Behaviour requested through a `sim-...` device token. */
export type SimBehaviour = { kind: 'hang' } | { kind: 'slow'; ms: number } | { kind: 'fail'; code: string; flaky: number };

const SIM_PREFIX = 'sim-';
const ATTEMPT_KEYS_LIMIT = 100_000;

function digitsAfter(segment: string, prefix: string): number {
  if (segment.length <= prefix.length || !segment.startsWith(prefix)) return -1;
  const rest = segment.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : -1;
}

/** Parses `sim-hang-x`, `sim-slow<ms>-x`, `sim-flaky<N>-<Code>-x` and `sim-<Code>-x`; undefined for ordinary tokens. */
export function parseSimToken(token: string): SimBehaviour | undefined {
  if (!token.startsWith(SIM_PREFIX)) return undefined;
  const parts = token.split('-');
  const head = parts[1];
  if (head === 'hang') return { kind: 'hang' };
  const slow = digitsAfter(head, 'slow');
  if (slow >= 0) return { kind: 'slow', ms: slow };
  const flaky = digitsAfter(head, 'flaky');
  if (flaky >= 0) return parts.length > 2 && parts[2] ? { kind: 'fail', code: parts[2], flaky } : undefined;
  return head ? { kind: 'fail', code: head, flaky: 0 } : undefined;
}

function emptyCounts(): PlatformCounts {
  return { total: 0, ok: 0, errors: {} };
}

interface Waiter {
  total: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Records, counters and attempt numbers shared by the APNs and FCM servers. */
export class SimState {
  latencyMs: number;
  readonly recordLimit: number;
  readonly faults = new SimFaults();
  private ring: SimRecord[] = [];
  private ringNext = 0;
  private apns = emptyCounts();
  private fcm = emptyCounts();
  private oauth = 0;
  private readonly attempts = { ios: new Map<string, number>(), android: new Map<string, number>() };
  private waiters: Waiter[] = [];

  constructor(recordLimit: number, latencyMs: number) {
    this.recordLimit = Math.max(0, Math.floor(recordLimit));
    this.latencyMs = latencyMs;
  }

  /** Numbers the request for this token (1 for the first); memory stays bounded by evicting the oldest tokens. */
  nextAttempt(platform: 'ios' | 'android', token: string): number {
    if (!token) return 0;
    const map = this.attempts[platform];
    const attempt = (map.get(token) ?? 0) + 1;
    if (attempt === 1 && map.size >= ATTEMPT_KEYS_LIMIT) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(token, attempt);
    return attempt;
  }

  store(record: SimRecord): void {
    if (this.recordLimit === 0) return;
    if (this.ring.length < this.recordLimit) {
      this.ring.push(record);
    } else {
      this.ring[this.ringNext] = record;
      this.ringNext = this.ringNext + 1 === this.recordLimit ? 0 : this.ringNext + 1;
    }
  }

  /** Counts an answered request; `errorKey` is the APNs reason or FCM error code, undefined for success. */
  count(platform: 'ios' | 'android', errorKey: string | undefined): void {
    const counts = platform === 'ios' ? this.apns : this.fcm;
    counts.total++;
    if (errorKey === undefined) counts.ok++;
    else counts.errors[errorKey] = (counts.errors[errorKey] ?? 0) + 1;
    if (this.waiters.length > 0) this.settleWaiters();
  }

  countOAuth(): void {
    this.oauth++;
  }

  records(limit?: number): SimRecord[] {
    const ordered =
      this.ring.length < this.recordLimit || this.ringNext === 0
        ? this.ring.slice()
        : this.ring.slice(this.ringNext).concat(this.ring.slice(0, this.ringNext));
    return limit !== undefined && limit >= 0 ? ordered.slice(Math.max(0, ordered.length - limit)) : ordered;
  }

  counts(): SimCounts {
    return {
      apns: { total: this.apns.total, ok: this.apns.ok, errors: { ...this.apns.errors } },
      fcm: { total: this.fcm.total, ok: this.fcm.ok, errors: { ...this.fcm.errors } },
      oauth: this.oauth,
    };
  }

  answered(): number {
    return this.apns.total + this.fcm.total;
  }

  waitFor(total: number, timeoutMs: number): Promise<void> {
    if (this.answered() >= total) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        total,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`simulator: timed out after ${timeoutMs} ms waiting for ${total} answered requests (have ${this.answered()})`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  reset(): void {
    this.ring = [];
    this.ringNext = 0;
    this.apns = emptyCounts();
    this.fcm = emptyCounts();
    this.oauth = 0;
    this.attempts.ios.clear();
    this.attempts.android.clear();
  }

  rejectWaiters(message: string): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(message));
    }
  }

  private settleWaiters(): void {
    const answered = this.answered();
    const pending: Waiter[] = [];
    for (const w of this.waiters) {
      if (answered >= w.total) {
        clearTimeout(w.timer);
        w.resolve();
      } else {
        pending.push(w);
      }
    }
    this.waiters = pending;
  }
}

/** Copies the regular (non-pseudo) request headers. */
export function plainHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}

export function noop(): void {}
