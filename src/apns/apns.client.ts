import { Logger } from '@nestjs/common';
import { ApnsClient, ApnsError, Host, Notification, type SigningToken } from 'apns2';
import { SENT, type SendResult } from '../transport/send-result';
import { Http2Transport, TransportError, type Http2TransportOptions } from '../transport/http2.transport';

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
 * provider JWT and raises its typed errors; {@link Http2Transport} carries the requests over `node:http2`
 * connections, which also allows certificate authentication and a simulator endpoint.
 */
export class GatewayApnsClient extends ApnsClient {
  readonly transport: Http2Transport;
  private readonly logger = new Logger('ApnsClient');
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
    this.transport = new Http2Transport(transportOptions);
    internals.client = auth.kind === 'token' ? this.transport : withoutAuthorization(this.transport);
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
  async deliver(notification: Notification): Promise<SendResult> {
    try {
      await this.send(notification);
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

  override async close(): Promise<void> {
    await this.transport.close();
  }
}

function withoutAuthorization(transport: Http2Transport): Pick<Http2Transport, 'request'> {
  return {
    request: (req) => {
      const { authorization: _ignored, ...headers } = req.headers;
      return transport.request({ ...req, headers });
    },
  };
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
