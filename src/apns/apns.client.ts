import { hash, X509Certificate } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ApnsError, Errors, Host, Notification, Priority, type NotificationOptions } from 'apns2';
import { createSigner } from 'fast-jwt';
import { SENT, type SendResult } from '../provider/provider.result';
import {
  TransportError,
  type Http2Response,
  type Http2TransportOptions,
  type ProxySettings,
  type SharedRequestPart,
} from '../transport/http2.transport';
import { createTransport, type Transport } from '../transport/threaded.transport';

export type ApnsAuth =
  | { kind: 'token'; keyPem: string; keyId: string; teamId: string }
  | { kind: 'certificate'; certPem: string; keyPem: string; passphrase?: string };

export interface ApnsClientOptions {
  auth: ApnsAuth;
  topic: string;
  sandbox: boolean;
  connectTo?: { host: string; port: number };
  /** HTTP proxy the connections to APNs are tunnelled through. */
  proxy?: ProxySettings;
  ca?: string;
  sessions: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  /** Transport threads the connections live in; 0 keeps them in the main thread. */
  threads: number;
}

/** Apple rejects a provider token refreshed more often than every 20 minutes (TooManyProviderTokenUpdates). */
export const MIN_TOKEN_REFRESH_MS = 20 * 60 * 1000;
/** A provider token is signed anew after this long, as apns2 does: Apple refuses one older than an hour. */
const TOKEN_LIFETIME_MS = 55 * 60 * 1000;
/** apns2's API version in the request path. */
const API_PATH = '/3/device/';

const RETRYABLE_STATUS = new Set([429, 500, 503]);

interface ProviderToken {
  readonly value: string;
  readonly timestamp: number;
}

/** One notification for APNs: apns2's options and the payload apns2 builds from them, serialised once for every push. */
export interface ApnsMessage {
  readonly options: NotificationOptions;
  readonly payload: string;
}

export function apnsMessage(options: NotificationOptions = {}): ApnsMessage {
  return { options, payload: JSON.stringify(new Notification('', options).buildApnsOptions()) };
}

/** A message's headers and payload as sent with one provider token (undefined with a client certificate). */
interface SharedPart {
  readonly bearer?: string;
  readonly part: SharedRequestPart;
}

/**
 * apns2 for the gateway. apns2's `Notification` builds the payload, push type and priority of a push and its
 * `ApnsError` carries Apple's answer; the request around them is built here because apns2's `send()` takes no
 * per-request headers (no `apns-id`) and its transport (`client`) is an undici Pool fixed to port 443 with Node's
 * default trust. The provider token is signed with fast-jwt, the signer apns2 itself uses, with the same claims.
 * Requests go over the gateway's own `node:http2` transport, which also allows certificate authentication and a
 * simulator endpoint.
 */
export class GatewayApnsClient {
  readonly transport: Transport;
  private readonly logger = new Logger('ApnsClient');
  private readonly sign?: (claims: { iss: string; iat: number }) => string;
  private token?: ProviderToken;
  /** Set by ExpiredProviderToken: sign a new token as soon as Apple accepts one. */
  private tokenExpired = false;
  private readonly notAfter?: number;
  /** Per message, the headers and payload its pushes share, kept while the message is (its notification queued). */
  private readonly shared = new WeakMap<ApnsMessage, SharedPart>();

  constructor(private readonly config: ApnsClientOptions) {
    const { auth } = config;
    const host = config.sandbox ? Host.development : Host.production;
    const transportOptions: Http2TransportOptions = {
      origin: `https://${host}`,
      connectTo: config.connectTo,
      proxy: config.proxy,
      ca: config.ca,
      sessions: config.sessions,
      timeoutMs: config.timeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      ...(auth.kind === 'certificate' ? { cert: auth.certPem, key: auth.keyPem, passphrase: auth.passphrase } : {}),
    };
    if (auth.kind === 'token') {
      this.sign = createSigner({ key: auth.keyPem, algorithm: 'ES256', kid: auth.keyId });
    } else {
      this.notAfter = certificateNotAfter(auth.certPem, this.logger);
    }
    this.transport = createTransport(transportOptions, config.threads);
  }

  /** Age of the provider token in milliseconds, or undefined before the first request (or with certificates). */
  get tokenAgeMs(): number | undefined {
    return this.token ? Date.now() - this.token.timestamp : undefined;
  }

  /** When the client certificate expires (ms since the epoch); undefined with token authentication. */
  get certificateNotAfter(): number | undefined {
    return this.notAfter;
  }

  get authKind(): ApnsAuth['kind'] {
    return this.config.auth.kind;
  }

  /** Sends one notification with the given `apns-id`; every outcome becomes a {@link SendResult}. */
  deliver(notification: Notification, apnsId?: string): Promise<SendResult> {
    return this.send(notification.deviceToken, apnsMessage(notification.options), apnsId);
  }

  /**
   * Sends a message to one device with the given `apns-id`; every outcome becomes a {@link SendResult}. The pushes of
   * one message share its headers and payload: only the path and the `apns-id` are built per push.
   */
  async send(deviceToken: string, message: ApnsMessage, apnsId?: string): Promise<SendResult> {
    try {
      const res = await this.transport.request({
        method: 'POST',
        path: API_PATH + encodeURIComponent(deviceToken),
        headers: apnsId === undefined ? {} : { 'apns-id': apnsId },
        shared: this.sharedPart(message),
      });
      if (res.statusCode === 200) return SENT;
      throw await this.apnsError(res, new Notification(deviceToken, message.options));
    } catch (error) {
      const result = toResult(error);
      if (!result.ok && result.reason === 'ClientError') this.logger.error(`APNs request failed: ${(error as Error).message}`);
      return result;
    }
  }

  /** The message's headers and payload with the current provider token, built again when the token changes. */
  private sharedPart(message: ApnsMessage): SharedRequestPart {
    const bearer = this.sign ? this.providerToken() : undefined;
    const cached = this.shared.get(message);
    if (cached && cached.bearer === bearer) return cached.part;
    const part = { headers: this.headers(message.options, bearer), body: message.payload };
    this.shared.set(message, { bearer, part });
    return part;
  }

  /** The headers apns2 sends for a notification, but the `apns-id`. */
  private headers(options: NotificationOptions, bearer: string | undefined): Record<string, string> {
    const notification = new Notification('', options);
    const headers: Record<string, string> = { 'apns-push-type': notification.pushType };
    // Without a topic APNs takes the one of the client certificate; an empty header is a BadTopic.
    const topic = options.topic || this.config.topic;
    if (topic) headers['apns-topic'] = topic;
    if (bearer !== undefined) headers.authorization = `bearer ${bearer}`;
    if (notification.priority !== Priority.immediate) headers['apns-priority'] = notification.priority.toString();
    const { expiration } = options;
    if (expiration !== undefined) {
      headers['apns-expiration'] = (typeof expiration === 'number' ? expiration : expiration.getTime() / 1000).toFixed(0);
    }
    if (options.collapseId) headers['apns-collapse-id'] = options.collapseId;
    return headers;
  }

  private providerToken(): string {
    const now = Date.now();
    const token = this.token;
    // After ExpiredProviderToken the token is kept while Apple would still refuse a new one (TooManyProviderTokenUpdates).
    if (this.tokenExpired && token && now - token.timestamp < MIN_TOKEN_REFRESH_MS) this.tokenExpired = false;
    if (token && !this.tokenExpired && now - token.timestamp < TOKEN_LIFETIME_MS) return token.value;
    const auth = this.config.auth as Extract<ApnsAuth, { kind: 'token' }>;
    const value = this.sign!({ iss: auth.teamId, iat: Math.floor(now / 1000) });
    this.token = { value, timestamp: now };
    this.tokenExpired = false;
    return value;
  }

  /** Apple's answer as apns2 reports it; an unreadable body is apns2's `UnknownError`. */
  private async apnsError(res: Http2Response, notification: Notification): Promise<ApnsError> {
    const response = (await res.body.json().catch(() => ({ reason: Errors.unknownError, timestamp: Date.now() }))) as {
      reason: string;
      timestamp: number;
    };
    const error = new ApnsError({ statusCode: res.statusCode, notification, response });
    if (error.reason === Errors.expiredProviderToken) this.tokenExpired = true;
    return error;
  }

  ping(): void {
    this.transport.ping();
  }

  /** Closes the connections; requests in flight get `graceMs` (bounded by the timeout) to be answered. */
  async close(graceMs?: number): Promise<void> {
    await this.transport.close(graceMs);
  }

  /** The request deadline: how long a retired client must stay open for its requests in flight to end. */
  get timeoutMs(): number {
    return this.config.timeoutMs;
  }
}

function certificateNotAfter(certPem: string, logger: Logger): number | undefined {
  try {
    return new X509Certificate(certPem).validToDate.getTime();
  } catch (error) {
    logger.warn(`cannot read the APNs certificate expiry: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * The `apns-id` of a push: a UUID derived from its push id, the same on every attempt and in every replica, so that
 * Apple's answers and a duplicate sent after a crash can be matched to the push.
 */
export function apnsIdOf(pushId: string): string {
  const hex = hash('sha1', pushId, 'hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A failed send as the queue sees it: Apple's reason (`HTTP<status>` without one), retryable for 429, 500, 503 and
 * an expired provider token; transport failures are retryable; anything else is the gateway's own `ClientError`.
 */
export function toResult(error: unknown): SendResult {
  if (error instanceof ApnsError) {
    const reason = error.reason ?? `HTTP${error.statusCode}`;
    return {
      ok: false,
      reason,
      retryable: RETRYABLE_STATUS.has(error.statusCode) || reason === 'ExpiredProviderToken',
    };
  }
  if (error instanceof TransportError) return { ok: false, reason: error.reason, retryable: true };
  return { ok: false, reason: 'ClientError', retryable: false };
}
