import { constants, type Http2SecureServer, type Http2Session } from 'node:http2';
import type { Socket } from 'node:net';

/** Which simulated provider a fault applies to. */
export type SimProvider = 'apns' | 'fcm';

export const SIM_PROVIDERS: readonly SimProvider[] = ['apns', 'fcm'];

/** Apple's provider-token rules, which the simulator enforces. */
export interface ProviderTokenRules {
  /** A JWT whose `iat` is older than this is refused with `ExpiredProviderToken` (Apple: 3600). */
  maxAgeSeconds: number;
  /**
   * A JWT newer than the newest one seen for its key, minted less than this after it, is refused with
   * `TooManyProviderTokenUpdates` (Apple: 1200). 0 turns the rule off, which the default is, so that several
   * gateways can share a simulator.
   */
  minRefreshSeconds: number;
}

export interface RandomFaults {
  /** Share of requests (0..1) answered with a retryable provider error (APNs 503, FCM UNAVAILABLE). */
  errorRate: number;
  /** Share of requests (0..1) never answered, so the client's deadline fires. */
  timeoutRate: number;
}

/** What a request is answered with because of a fault, decided before its own token's behaviour. */
export type FaultAnswer = { kind: 'fail'; code: string } | { kind: 'hang' } | undefined;

export interface FaultsSnapshot {
  tlsFailure: Record<SimProvider, boolean>;
  maxConcurrentStreams: Record<SimProvider, number>;
  brokenConnections: Record<SimProvider, number>;
  failNext: Record<SimProvider, { code: string; count: number } | null>;
  oauthStatus: number;
  quotaUntil: number;
  providerTokens: ProviderTokenRules;
  random: RandomFaults;
}

export const DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
const APPLE_TOKEN_MAX_AGE_SECONDS = 3600;

interface ProviderFaults {
  server?: Http2SecureServer;
  readonly sessions: Set<Http2Session>;
  readonly sockets: Set<Socket>;
  /** Sessions that answer every request with this HTTP status. */
  readonly broken: WeakMap<Http2Session, number>;
  tlsFailure: boolean;
  maxConcurrentStreams: number;
  failNext?: { code: string; count: number };
}

function provider(): ProviderFaults {
  return {
    sessions: new Set(),
    sockets: new Set(),
    broken: new WeakMap(),
    tlsFailure: false,
    maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS,
  };
}

/**
 * Connection-level and provider-wide faults, for proving that the gateway loses nothing when Apple, Google or
 * the network misbehave. The APNs and FCM servers consult it on every connection and request.
 */
export class SimFaults {
  private readonly of: Record<SimProvider, ProviderFaults> = { apns: provider(), fcm: provider() };
  /** Status the OAuth token endpoint answers with; 0 = it works. */
  oauthStatus = 0;
  /** Until this time (ms since the epoch) every FCM send is answered 429 QUOTA_EXCEEDED with Retry-After. */
  quotaUntil = 0;
  providerTokens: ProviderTokenRules = { maxAgeSeconds: APPLE_TOKEN_MAX_AGE_SECONDS, minRefreshSeconds: 0 };
  random: RandomFaults = { errorRate: 0, timeoutRate: 0 };
  /** Newest provider-token `iat` seen per APNs key id. */
  readonly newestTokenIat = new Map<string, number>();

  /** Lets the faults reach a server's connections; called once per server by the simulator. */
  attach(which: SimProvider, server: Http2SecureServer): void {
    const p = this.of[which];
    p.server = server;
    server.on('connection', (socket: Socket) => {
      p.sockets.add(socket);
      socket.once('close', () => p.sockets.delete(socket));
    });
    server.on('session', (session: Http2Session) => {
      p.sessions.add(session);
      session.once('close', () => p.sessions.delete(session));
      if (p.maxConcurrentStreams !== DEFAULT_MAX_CONCURRENT_STREAMS) {
        session.settings({ maxConcurrentStreams: p.maxConcurrentStreams }, () => undefined);
      }
    });
  }

  /** For `SNICallback`: fails the handshake while `tlsFailure` is set. */
  sniCallback(which: SimProvider): (name: string, cb: (err: Error | null) => void) => void {
    return (_name, cb) => cb(this.of[which].tlsFailure ? new Error('simulated TLS handshake failure') : null);
  }

  /** Sends GOAWAY (last stream 0) on every open connection, so every stream in flight is refused, then closes them. */
  goaway(which: SimProvider, graceMs = 100): number {
    const sessions = [...this.of[which].sessions];
    for (const session of sessions) {
      if (session.destroyed) continue;
      try {
        session.goaway(constants.NGHTTP2_NO_ERROR, 0);
      } catch {
        continue;
      }
      setTimeout(() => session.destroy(), graceMs).unref();
    }
    return sessions.length;
  }

  /** Every connection open now answers every request with `status` (500 or 503); new connections are healthy. */
  breakConnections(which: SimProvider, status = 500): number {
    const p = this.of[which];
    for (const session of p.sessions) p.broken.set(session, status);
    return p.sessions.size;
  }

  /** The status a request on this session is forced to, if its connection was broken. */
  brokenStatus(which: SimProvider, session: Http2Session | undefined): number | undefined {
    return session ? this.of[which].broken.get(session) : undefined;
  }

  /**
   * Every connection open now stops reading: no request, PING or close reaches the server any more, as on a
   * connection that died silently behind a NAT or load balancer. New connections are healthy.
   */
  stall(which: SimProvider): number {
    const sockets = [...this.of[which].sockets];
    for (const socket of sockets) {
      socket.pause();
      // The TLS layer reads from the TCP handle directly; stopping the handle is what silences it.
      (socket as unknown as { _handle?: { readStop?: () => number } })._handle?.readStop?.();
    }
    return sockets.length;
  }

  /** Changes SETTINGS_MAX_CONCURRENT_STREAMS on every open connection and for new ones. */
  setMaxConcurrentStreams(which: SimProvider, max: number): void {
    const p = this.of[which];
    p.maxConcurrentStreams = max;
    p.server?.updateSettings({ maxConcurrentStreams: max });
    for (const session of p.sessions) {
      if (!session.destroyed) session.settings({ maxConcurrentStreams: max }, () => undefined);
    }
  }

  failTls(which: SimProvider, on: boolean): void {
    this.of[which].tlsFailure = on;
  }

  /** Answers the next `count` requests with this APNs reason or FCM error code, whatever their token. */
  failNext(which: SimProvider, code: string, count: number): void {
    this.of[which].failNext = count > 0 ? { code, count } : undefined;
  }

  /** A full outage: every open connection is dropped and every new handshake fails, until `outage(false)`. */
  outage(on: boolean): void {
    for (const which of SIM_PROVIDERS) {
      const p = this.of[which];
      p.tlsFailure = on;
      if (on) for (const socket of p.sockets) socket.destroy();
    }
  }

  /** Opens a window in which FCM answers every send with 429 QUOTA_EXCEEDED and a Retry-After to its end. */
  quota(retryAfterSeconds: number): void {
    this.quotaUntil = Date.now() + retryAfterSeconds * 1000;
  }

  /** The fault that decides this request's answer, if any. */
  answer(which: SimProvider, retryableCode: string): FaultAnswer {
    const p = this.of[which];
    if (p.failNext) {
      const { code } = p.failNext;
      if (--p.failNext.count <= 0) p.failNext = undefined;
      return { kind: 'fail', code };
    }
    const { errorRate, timeoutRate } = this.random;
    if (errorRate + timeoutRate > 0) {
      const roll = Math.random();
      if (roll < timeoutRate) return { kind: 'hang' };
      if (roll < timeoutRate + errorRate) return { kind: 'fail', code: retryableCode };
    }
    return undefined;
  }

  /** Clears every fault; connections already broken or stalled stay so until they close. */
  clear(): void {
    for (const which of SIM_PROVIDERS) {
      const p = this.of[which];
      p.tlsFailure = false;
      p.failNext = undefined;
      if (p.maxConcurrentStreams !== DEFAULT_MAX_CONCURRENT_STREAMS) this.setMaxConcurrentStreams(which, DEFAULT_MAX_CONCURRENT_STREAMS);
    }
    this.oauthStatus = 0;
    this.quotaUntil = 0;
    this.providerTokens = { maxAgeSeconds: APPLE_TOKEN_MAX_AGE_SECONDS, minRefreshSeconds: 0 };
    this.random = { errorRate: 0, timeoutRate: 0 };
    this.newestTokenIat.clear();
  }

  snapshot(): FaultsSnapshot {
    const per = <T>(f: (p: ProviderFaults) => T): Record<SimProvider, T> => ({ apns: f(this.of.apns), fcm: f(this.of.fcm) });
    return {
      tlsFailure: per((p) => p.tlsFailure),
      maxConcurrentStreams: per((p) => p.maxConcurrentStreams),
      brokenConnections: per((p) => [...p.sessions].filter((s) => p.broken.has(s)).length),
      failNext: per((p) => (p.failNext ? { ...p.failNext } : null)),
      oauthStatus: this.oauthStatus,
      quotaUntil: this.quotaUntil,
      providerTokens: { ...this.providerTokens },
      random: { ...this.random },
    };
  }
}
