import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ApnsClient, ApnsError, Host, Notification, type SigningToken } from 'apns2';
import { SENT, type SendResult } from '../transport/send-result';
import { TransportError, type Http2Request, type Http2Response, type Http2TransportOptions } from '../transport/http2.transport';
import { createTransport, type Transport } from '../transport/threaded.transport';

export type ApnsAuth =
  | { kind: 'token'; keyPem: string; keyId: string; teamId: string }
  | { kind: 'certificate'; certPem: string; keyPem: string; passphrase?: string };

export interface ApnsClientOptions {
  auth: ApnsAuth;
  topic: string;
  sandbox: boolean;
  connectTo?: { host: string; port: number };
  ca?: string;
  sessions: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  /** Transport threads the connections live in; 0 keeps them in the main thread. */
  threads: number;
}

/** Apple rejects a provider token refreshed more often than every 20 minutes (TooManyProviderTokenUpdates). */
export const MIN_TOKEN_REFRESH_MS = 20 * 60 * 1000;

const RETRYABLE_STATUS = new Set([429, 500, 503]);

interface Apns2Internals {
  _token: SigningToken | null;
  _getSigningToken(): string;
  client: unknown;
}

/**
 * apns2's client with the gateway's transport: apns2 builds the headers and payload, signs and caches the
 * provider JWT and raises its typed errors; its transport carries the requests over `node:http2`
 * connections, which also allows certificate authentication and a simulator endpoint.
 */
export class GatewayApnsClient extends ApnsClient {
  readonly transport: Transport;
  private readonly logger = new Logger('ApnsClient');
  private nextApnsId?: string;
  private lastToken: SigningToken | null = null;

  constructor(private readonly config: ApnsClientOptions) {
    const { auth } = config;
    const host = config.sandbox ? Host.development : Host.production;
    super({
      team: auth.kind === 'token' ? auth.teamId : '',
      keyId: auth.kind === 'token' ? auth.keyId : '',
      signingKey: auth.kind === 'token' ? auth.keyPem : '',
      defaultTopic: config.topic,
      host,
      keepAlive: false,
    });
    // apns2 emits every error as an event as well as rejecting; rejections are what the gateway handles.
    this.on('error', () => undefined);
    const internals = this as unknown as Apns2Internals;
    void (internals.client as { close(): Promise<void> }).close();
    const transportOptions: Http2TransportOptions = {
      origin: `https://${host}`,
      connectTo: config.connectTo,
      ca: config.ca,
      sessions: config.sessions,
      timeoutMs: config.timeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      ...(auth.kind === 'certificate' ? { cert: auth.certPem, key: auth.keyPem, passphrase: auth.passphrase } : {}),
    };
    this.transport = createTransport(transportOptions, config.threads);
    // apns2 builds the headers; the gateway adds the push's apns-id and, with a certificate, drops authorization.
    const certificate = auth.kind === 'certificate';
    internals.client = {
      request: (req: Http2Request): Promise<Http2Response> => {
        if (certificate) delete req.headers.authorization;
        if (this.nextApnsId !== undefined) req.headers['apns-id'] = this.nextApnsId;
        return this.transport.request(req);
      },
    };
    if (auth.kind === 'certificate') {
      // The TLS client certificate authenticates; the transport drops the authorization header.
      internals._getSigningToken = (): string => '';
      return;
    }
    const sign = internals._getSigningToken.bind(this);
    internals._getSigningToken = (): string => {
      // apns2 drops its token after ExpiredProviderToken; keep it if Apple would refuse a new one this soon.
      if (internals._token === null && this.lastToken && Date.now() - this.lastToken.timestamp < MIN_TOKEN_REFRESH_MS) {
        internals._token = this.lastToken;
      }
      const value = sign();
      this.lastToken = internals._token;
      return value;
    };
  }

  /** Age of the provider token in milliseconds, or undefined before the first request (or with certificates). */
  get tokenAgeMs(): number | undefined {
    return this.lastToken ? Date.now() - this.lastToken.timestamp : undefined;
  }

  get authKind(): ApnsAuth['kind'] {
    return this.config.auth.kind;
  }

  /** Sends one notification; every outcome becomes a {@link SendResult}. */
  async deliver(notification: Notification, apnsId?: string): Promise<SendResult> {
    try {
      // apns2's send() reaches the transport synchronously, before its first await.
      this.nextApnsId = apnsId;
      const sending = this.send(notification);
      this.nextApnsId = undefined;
      await sending;
      return SENT;
    } catch (error) {
      const result = toResult(error);
      if (!result.ok && result.reason === 'ClientError') this.logger.error(`APNs request failed: ${(error as Error).message}`);
      return result;
    }
  }

  override ping(): Promise<PromiseSettledResult<void>[]> {
    this.transport.ping();
    return Promise.resolve([]);
  }

  /** Closes the connections; requests in flight get `graceMs` (bounded by the timeout) to be answered. */
  override async close(graceMs?: number): Promise<void> {
    await this.transport.close(graceMs);
  }

  /** The request deadline: how long a retired client must stay open for its requests in flight to end. */
  get timeoutMs(): number {
    return this.config.timeoutMs;
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
