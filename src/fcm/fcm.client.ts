import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Logger } from '@nestjs/common';
import { readServiceAccount, serviceAccountCredential, type FcmCredential } from './fcm.credentials';
import { retryAfterMs, SENT, type SendResult } from '../provider/provider.result';
import { proxyFor, TransportError, tunnel, type ProxySettings, type SharedRequestPart } from '../transport/http2.transport';
import { createTransport, type Transport } from '../transport/threaded.transport';

export const FCM_ORIGIN = 'https://fcm.googleapis.com';

export interface FcmClientOptions {
  serviceAccountPath: string;
  connectTo?: { host: string; port: number };
  /** HTTP proxy the connections (messages and OAuth token requests) are tunnelled through. */
  proxy?: ProxySettings;
  ca?: string;
  sessions: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  /** Transport threads the connections live in; 0 keeps them in the main thread. */
  threads: number;
}

/** The FCM HTTP v1 `android` block, in the wire format of the REST API. */
export interface FcmAndroidConfig {
  collapse_key?: string;
  priority?: 'HIGH' | 'NORMAL';
  ttl?: string;
}

/** FCM v1 `notification`: what the system shows. */
export interface FcmNotification {
  title?: string;
  body?: string;
  image?: string;
}

/** A message for every token of one notification, serialised once. */
export interface PreparedFcmMessage {
  readonly head: string;
  readonly tail: string;
}

const RETRYABLE = new Set(['UNAVAILABLE', 'INTERNAL', 'QUOTA_EXCEEDED', 'UNAUTHENTICATED']);
const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * An https.Agent for firebase-admin's credential: its OAuth token request goes to Google's host name, which
 * this agent dials at `connectTo` (the simulator) while TLS still verifies that host name, through the proxy if any.
 */
class RoutedAgent extends Agent {
  constructor(
    options: AgentOptions,
    private readonly connectTo?: { host: string; port: number },
    private readonly proxy?: ProxySettings,
  ) {
    super(options);
  }

  override createConnection(options: ConnectionOptions, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
    const host = this.connectTo?.host ?? options.host ?? 'localhost';
    const port = this.connectTo?.port ?? Number(options.port ?? 443);
    const proxy = proxyFor(this.proxy, host, port);
    if (!this.connectTo && !proxy) return super.createConnection(options, callback) as Duplex;
    const servername = options.servername ?? options.host;
    return tlsConnect({ ...options, servername, ...(proxy ? { socket: tunnel(proxy, host, port) } : { host, port }) });
  }
}

/**
 * FCM HTTP v1. google-auth-library supplies the credential (service-account JWT exchanged for OAuth access tokens
 * through the agent); messages go over the gateway's own long-lived HTTP/2 connections, because
 * firebase-admin has no setting for the FCM host, opens a new HTTP/2 session per `sendEach` call and sends a `:scheme`
 * that strict HTTP/2 servers reject. Production and the simulator run this same code.
 */
export class FcmClient {
  readonly projectId: string;
  readonly transport: Transport;
  private readonly credential: FcmCredential;
  private readonly path: string;
  private readonly logger = new Logger('FcmClient');
  private accessToken?: { value: string; expiresAt: number };
  /** The headers every message is sent with until the access token changes. */
  private sharedHeaders?: { bearer: string; part: SharedRequestPart };
  private refreshing?: Promise<string>;
  /** No send to the project before this time (ms since the epoch): FCM asked to back off. */
  private holdUntil = 0;
  private readonly transportTimeoutMs: number;

  constructor(options: FcmClientOptions) {
    const account = readServiceAccount(options.serviceAccountPath);
    this.projectId = account.project_id;
    this.path = `/v1/projects/${encodeURIComponent(this.projectId)}/messages:send`;
    const agent = new RoutedAgent({ keepAlive: true, ca: options.ca }, options.connectTo, options.proxy);
    this.credential = serviceAccountCredential(account, agent);
    this.transportTimeoutMs = options.timeoutMs;
    this.transport = createTransport(
      {
        origin: FCM_ORIGIN,
        connectTo: options.connectTo,
        proxy: options.proxy,
        ca: options.ca,
        sessions: options.sessions,
        timeoutMs: options.timeoutMs,
        idleTimeoutMs: options.idleTimeoutMs,
      },
      options.threads,
    );
  }

  /** Milliseconds until the cached access token expires, or undefined before the first one. */
  get tokenTtlMs(): number | undefined {
    return this.accessToken ? this.accessToken.expiresAt - Date.now() : undefined;
  }

  static prepare(data: Record<string, string>, android: FcmAndroidConfig, notification?: FcmNotification): PreparedFcmMessage {
    const rest = JSON.stringify({ data: Object.keys(data).length > 0 ? data : undefined, notification, android });
    return { head: '{"message":{"token":', tail: `,${rest.slice(1)}}` };
  }

  /** The cached access token while it is comfortably valid: the common case, without a promise. */
  private validAccessToken(): string | undefined {
    const cached = this.accessToken;
    return cached && cached.expiresAt - TOKEN_REFRESH_MARGIN_MS > Date.now() ? cached.value : undefined;
  }

  /** Fetches a new access token when the cached one is missing or about to expire; one fetch at a time. */
  getAccessToken(force = false): Promise<string> {
    const valid = force ? undefined : this.validAccessToken();
    if (valid !== undefined) return Promise.resolve(valid);
    this.refreshing ??= this.credential
      .getAccessToken()
      .then((token) => {
        this.accessToken = { value: token.access_token, expiresAt: Date.now() + token.expires_in * 1000 };
        return token.access_token;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Milliseconds sends are still held after a QUOTA_EXCEEDED with Retry-After; 0 when none. */
  get heldForMs(): number {
    return Math.max(0, this.holdUntil - Date.now());
  }

  async deliver(token: string, message: PreparedFcmMessage): Promise<SendResult> {
    // A project over its quota is refused until Retry-After: sending earlier only prolongs the refusal.
    for (let held = this.heldForMs; held > 0; held = this.heldForMs) await sleep(held, undefined, { ref: false });
    let bearer = this.validAccessToken();
    try {
      // The credential retries a failing token endpoint by itself; a push waits for it no longer than for FCM.
      bearer ??= await withDeadline(this.getAccessToken(), this.transportTimeoutMs, 'no access token');
    } catch (error) {
      this.logger.error(`FCM access token request failed: ${(error as Error).message}`);
      return { ok: false, reason: 'AuthError', retryable: true };
    }
    try {
      const res = await this.transport.request({
        method: 'POST',
        path: this.path,
        headers: {},
        body: message.head + JSON.stringify(token) + message.tail,
        shared: this.headersWith(bearer),
      });
      if (res.statusCode === 200) return SENT;
      const result = await toResult(res.statusCode, res.headers['retry-after'], res.body.text());
      if (result.reason === 'UNAUTHENTICATED') this.accessToken = undefined;
      const wait = result.retryAfterMs;
      if (wait !== undefined && (result.reason === 'QUOTA_EXCEEDED' || res.statusCode === 429)) {
        this.holdUntil = Math.max(this.holdUntil, Date.now() + wait);
      }
      return result;
    } catch (error) {
      if (error instanceof TransportError) return { ok: false, reason: error.reason, retryable: true };
      this.logger.error(`FCM request failed: ${(error as Error).message}`);
      return { ok: false, reason: 'ClientError', retryable: false };
    }
  }

  private headersWith(bearer: string): SharedRequestPart {
    if (this.sharedHeaders?.bearer !== bearer) {
      this.sharedHeaders = { bearer, part: { headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' } } };
    }
    return this.sharedHeaders.part;
  }

  /** Closes the connections; requests in flight get `graceMs` (bounded by the timeout) to be answered. */
  close(graceMs?: number): Promise<void> {
    return this.transport.close(graceMs);
  }

  /** The request deadline: how long a retired client must stay open for its requests in flight to end. */
  get timeoutMs(): number {
    return this.transportTimeoutMs;
  }
}

const MAX_DETAIL_LENGTH = 500;

/**
 * A refused FCM request as the queue sees it: the reason of {@link errorCode}; retryable for UNAVAILABLE, INTERNAL,
 * QUOTA_EXCEEDED, UNAUTHENTICATED (the access token is renewed), any 429 and any 5xx; with the Retry-After wait.
 */
export async function toResult(
  status: number,
  retryAfter: string | string[] | undefined,
  body: Promise<string>,
): Promise<Extract<SendResult, { ok: false }>> {
  const { reason, detail } = await errorCode(status, body);
  return {
    ok: false,
    reason,
    retryable: RETRYABLE.has(reason) || status === 429 || status >= 500,
    retryAfterMs: retryAfterMs(retryAfter),
    detail,
  };
}

/**
 * The FCM v1 error code (`UNREGISTERED`), else the Google API status (`UNAVAILABLE`), else `HTTP<status>`; with
 * FCM's message and field violations as the detail, since INVALID_ARGUMENT covers both bad tokens and bad payloads.
 */
export async function errorCode(status: number, body: Promise<string>): Promise<{ reason: string; detail?: string }> {
  try {
    const parsed = JSON.parse(await body) as {
      error?: {
        status?: string;
        message?: string;
        details?: { '@type'?: string; errorCode?: string; fieldViolations?: { field?: string; description?: string }[] }[];
      };
    };
    const details = parsed.error?.details ?? [];
    const fcmError = details.find((d) => d['@type']?.endsWith('FcmError') && d.errorCode);
    const parts = typeof parsed.error?.message === 'string' ? [parsed.error.message] : [];
    for (const d of details) for (const v of d.fieldViolations ?? []) parts.push(`${v.field ?? ''}: ${v.description ?? ''}`);
    return {
      reason: fcmError?.errorCode ?? parsed.error?.status ?? `HTTP${status}`,
      detail: parts.length > 0 ? parts.join('; ').slice(0, MAX_DETAIL_LENGTH) : undefined,
    };
  } catch {
    return { reason: `HTTP${status}` };
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
