import { KeyObject, randomUUID, verify, X509Certificate } from 'node:crypto';
import http2, { Http2SecureServer, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { TLSSocket } from 'node:tls';
import { SimulatorMaterial } from './simulator.certs';
import { DEFAULT_MAX_CONCURRENT_STREAMS } from './simulator.faults';
import { NO_AUTH, noop, parseSimToken, plainHeaders, SimAuth, SimRecord, SimState } from './simulator.state';

/** Apple's HTTP status for each documented error reason. */
export const APNS_REASON_STATUS: Readonly<Record<string, number>> = {
  BadCollapseId: 400,
  BadDeviceToken: 400,
  BadExpirationDate: 400,
  BadMessageId: 400,
  BadPriority: 400,
  BadTopic: 400,
  DeviceTokenNotForTopic: 400,
  DuplicateHeaders: 400,
  IdleTimeout: 400,
  InvalidPushType: 400,
  MissingDeviceToken: 400,
  MissingTopic: 400,
  PayloadEmpty: 400,
  TopicDisallowed: 400,
  BadCertificate: 403,
  BadCertificateEnvironment: 403,
  ExpiredProviderToken: 403,
  Forbidden: 403,
  InvalidProviderToken: 403,
  MissingProviderToken: 403,
  UnrelatedKeyIdInToken: 403,
  BadEnvironmentKeyIdInToken: 403,
  BadPath: 404,
  MethodNotAllowed: 405,
  ExpiredToken: 410,
  Unregistered: 410,
  PayloadTooLarge: 413,
  TooManyProviderTokenUpdates: 429,
  TooManyRequests: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
  Shutdown: 503,
};

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'location',
  'liveactivity',
  'pushtotalk',
  'widgets',
]);
const PATH_PREFIX = '/3/device/';
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PAYLOAD = 4096;
const MAX_VOIP_PAYLOAD = 5120;
const MAX_BODY_KEPT = 8192;
const JWT_CACHE_LIMIT = 10_000;

interface JwtIdentity {
  auth: SimAuth;
  iat: number;
}

interface CertIdentity {
  auth: SimAuth;
  topic: string;
}

/** Verifies provider JWTs once per distinct string; expiry is still checked on every use. */
class ProviderTokenVerifier {
  private readonly cache = new Map<string, JwtIdentity | string>();

  constructor(
    private readonly keyId: string,
    private readonly teamId: string,
    private readonly publicKey: KeyObject,
  ) {}

  /** Returns the identity, or the APNs reason the token is rejected with. */
  check(jwt: string, nowSeconds: number, maxAgeSeconds: number): JwtIdentity | string {
    let entry = this.cache.get(jwt);
    if (entry === undefined) {
      entry = this.verify(jwt);
      if (this.cache.size >= JWT_CACHE_LIMIT) this.cache.clear();
      this.cache.set(jwt, entry);
    }
    if (typeof entry === 'string') return entry;
    return nowSeconds - entry.iat > maxAgeSeconds ? 'ExpiredProviderToken' : entry;
  }

  private verify(jwt: string): JwtIdentity | string {
    const parts = jwt.split('.');
    if (parts.length !== 3) return 'InvalidProviderToken';
    try {
      const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      if (header.alg !== 'ES256' || header.kid !== this.keyId || claims.iss !== this.teamId) {
        return 'InvalidProviderToken';
      }
      if (typeof claims.iat !== 'number') return 'InvalidProviderToken';
      const signed = verify(
        'sha256',
        Buffer.from(`${parts[0]}.${parts[1]}`),
        { key: this.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(parts[2], 'base64url'),
      );
      if (!signed) return 'InvalidProviderToken';
      return { auth: Object.freeze({ kind: 'jwt', keyId: this.keyId, teamId: this.teamId }), iat: claims.iat };
    } catch {
      return 'InvalidProviderToken';
    }
  }
}

function certIdentity(session: Http2Session): CertIdentity | undefined {
  const socket = session.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const raw = socket.getPeerCertificate(false)?.raw;
  if (!raw) return undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(raw);
  } catch {
    return undefined;
  }
  let topic = '';
  for (const line of x509.subject.split('\n')) {
    if (line.startsWith('UID=')) topic = line.slice(4);
  }
  return { auth: Object.freeze({ kind: 'cert', subject: x509.subject.replace(/\n/g, ', ') }), topic };
}

/** Whether `topic` is the app's bundle id, or one of its suffixed topics (`.voip`, `.complication`...). */
function topicOf(topic: string, bundleId: string): boolean {
  return topic === bundleId || topic.startsWith(`${bundleId}.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Apple's rules tying push type, priority and payload together ("Sending notification requests to APNs",
 * "Pushing background updates to your app"): a background push goes at priority 5, with `content-available` and
 * without alert, sound or badge; priority 10 is an error for a push whose `aps` only has `content-available`.
 * Apple names no reason for a background push that would alert the user; InvalidPushType says what is wrong.
 */
function pushTypeProblem(pushType: string, priority: string, payload: Record<string, unknown>): string | undefined {
  const aps = isObject(payload.aps) ? payload.aps : {};
  const alerts = aps.alert !== undefined || aps.sound !== undefined || aps.badge !== undefined;
  if (pushType === 'background') {
    if (priority !== '5') return 'BadPriority';
    if (alerts || aps['content-available'] !== 1) return 'InvalidPushType';
  }
  if (priority === '10' && aps['content-available'] === 1 && !alerts) return 'BadPriority';
  return undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface ApnsServerOptions {
  state: SimState;
  material: SimulatorMaterial;
  onSocket: (socket: import('node:net').Socket) => void;
}

export function createApnsServer({ state, material, onSocket }: ApnsServerOptions): Http2SecureServer {
  const verifier = new ProviderTokenVerifier(material.apns.keyId, material.apns.teamId, material.apnsPublicKey);
  const certIdentities = new WeakMap<Http2Session, CertIdentity | undefined>();
  const server = http2.createSecureServer({
    key: material.serverKeyPem,
    cert: material.serverCertPem,
    ca: [material.caPem],
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: false,
    settings: { maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS },
    SNICallback: state.faults.sniCallback('apns'),
  });
  server.on('connection', onSocket);
  state.faults.attach('apns', server);
  server.on('session', (session: Http2Session) => {
    session.on('error', noop);
    certIdentities.set(session, certIdentity(session));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', noop);
    const at = Date.now();
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_KEPT) return;
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    stream.on('end', () => {
      const body = more ? Buffer.concat(more) : first;
      handle(stream, headers, body, size, at, certIdentities.get(stream.session!), state.faults.brokenStatus('apns', stream.session));
    });
  });

  function handle(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    body: Buffer | undefined,
    size: number,
    at: number,
    cert: CertIdentity | undefined,
    broken: number | undefined,
  ): void {
    const path = header(headers, ':path') ?? '';
    const routed = path.startsWith(PATH_PREFIX);
    const token = routed ? path.slice(PATH_PREFIX.length) : '';
    const record: SimRecord = {
      platform: 'ios',
      token,
      status: 200,
      reason: undefined,
      headers: plainHeaders(headers),
      payload: undefined,
      auth: NO_AUTH,
      attempt: state.nextAttempt('ios', token),
      at,
    };
    let reason =
      broken !== undefined
        ? broken === 503
          ? 'ServiceUnavailable'
          : 'InternalServerError'
        : validate(headers, path, routed, token, body, size, cert, record);
    let delay = state.latencyMs;
    const fault = reason === undefined ? state.faults.answer('apns', 'ServiceUnavailable') : undefined;
    if (fault?.kind === 'fail') reason = fault.code;
    if (reason === undefined) {
      const behaviour = fault?.kind === 'hang' ? fault : parseSimToken(token);
      if (behaviour?.kind === 'hang') {
        record.status = 0;
        state.store(record);
        return;
      }
      if (behaviour?.kind === 'slow') delay = behaviour.ms;
      else if (behaviour?.kind === 'fail' && APNS_REASON_STATUS[behaviour.code] !== undefined) {
        if (behaviour.flaky === 0 || record.attempt <= behaviour.flaky) reason = behaviour.code;
      }
    }
    if (reason !== undefined) {
      record.status = APNS_REASON_STATUS[reason] ?? 400;
      record.reason = reason;
    }
    const apnsId = header(headers, 'apns-id') || randomUUID();
    if (delay > 0) setTimeout(answer, delay, stream, record, apnsId).unref();
    else answer(stream, record, apnsId);
  }

  function validate(
    headers: IncomingHttpHeaders,
    path: string,
    routed: boolean,
    token: string,
    body: Buffer | undefined,
    size: number,
    cert: CertIdentity | undefined,
    record: SimRecord,
  ): string | undefined {
    if (!routed || path.indexOf('/', PATH_PREFIX.length) >= 0 || path.indexOf('?') >= 0) return 'BadPath';
    if (headers[':method'] !== 'POST') return 'MethodNotAllowed';
    const topic = header(headers, 'apns-topic');
    if (cert) {
      record.auth = cert.auth;
      // Without the header APNs takes the certificate's topic; with it, the topic must be the certificate's.
      if (topic !== undefined && !topicOf(topic, cert.topic)) return 'BadTopic';
    } else {
      const authorization = header(headers, 'authorization');
      if (!authorization) return 'MissingProviderToken';
      if (authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') {
        return 'InvalidProviderToken';
      }
      const rules = state.faults.providerTokens;
      const identity = verifier.check(authorization.slice(7).trim(), Math.floor(Date.now() / 1000), rules.maxAgeSeconds);
      if (typeof identity === 'string') return identity;
      const newest = state.faults.newestTokenIat.get(material.apns.keyId);
      if (newest === undefined || identity.iat > newest) {
        if (newest !== undefined && identity.iat - newest < rules.minRefreshSeconds) return 'TooManyProviderTokenUpdates';
        state.faults.newestTokenIat.set(material.apns.keyId, identity.iat);
      }
      record.auth = identity.auth;
      if (!topic) return 'MissingTopic';
      if (!topicOf(topic, material.apns.topic)) return 'TopicDisallowed';
    }
    const apnsId = header(headers, 'apns-id');
    if (apnsId !== undefined && !CANONICAL_UUID.test(apnsId)) return 'BadMessageId';
    const pushType = header(headers, 'apns-push-type');
    if (pushType !== undefined && !PUSH_TYPES.has(pushType)) return 'InvalidPushType';
    const priority = header(headers, 'apns-priority');
    if (priority !== undefined && priority !== '10' && priority !== '5' && priority !== '1') return 'BadPriority';
    const expiration = header(headers, 'apns-expiration');
    if (expiration !== undefined && !/^\d+$/.test(expiration)) return 'BadExpirationDate';
    const collapseId = header(headers, 'apns-collapse-id');
    if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) return 'BadCollapseId';
    if (!token) return 'MissingDeviceToken';
    if (size === 0 || body === undefined) return 'PayloadEmpty';
    if (size > (pushType === 'voip' ? MAX_VOIP_PAYLOAD : MAX_PAYLOAD)) return 'PayloadTooLarge';
    const text = body.toString('utf8');
    try {
      record.payload = JSON.parse(text);
    } catch {
      record.payload = text;
      return 'InvalidPayload';
    }
    if (!isObject(record.payload)) return 'InvalidPayload';
    if (record.payload.aps !== undefined && !isObject(record.payload.aps)) return 'InvalidPayload';
    return pushTypeProblem(pushType ?? 'alert', priority ?? '10', record.payload);
  }

  function answer(stream: ServerHttp2Stream, record: SimRecord, apnsId: string): void {
    state.store(record);
    state.count('ios', record.reason);
    if (stream.destroyed || stream.headersSent) return;
    try {
      if (record.reason === undefined) {
        stream.respond({ ':status': 200, 'apns-id': apnsId }, { endStream: true });
        return;
      }
      const status = record.status;
      const responseHeaders: Record<string, string | number> = {
        ':status': status,
        'apns-id': apnsId,
        'content-type': 'application/json',
      };
      if (status === 429 || status === 503) responseHeaders['retry-after'] = '1';
      stream.respond(responseHeaders);
      stream.end(status === 410 ? `{"reason":"${record.reason}","timestamp":${Date.now()}}` : `{"reason":"${record.reason}"}`);
    } catch {
      // The client or the session went away between the check and the write.
    }
  }

  return server;
}
