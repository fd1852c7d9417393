import { KeyObject, randomBytes, verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2, { Http2SecureServer, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { SIM_TOKEN_URI, SimulatorMaterial } from './simulator.certs';
import { DEFAULT_MAX_CONCURRENT_STREAMS } from './simulator.faults';
import { NO_AUTH, noop, parseSimToken, plainHeaders, SimAuth, SimRecord, SimState } from './simulator.state';

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=UTF-8' });
const RETRY_HEADERS = Object.freeze({ 'content-type': 'application/json; charset=UTF-8', 'retry-after': '1' });
const SEND_PREFIX = '/v1/projects/';
const SEND_SUFFIX = '/messages:send';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const MAX_BODY_KEPT = 64 * 1024;
const ACCESS_TOKENS_LIMIT = 10_000;
const TTL_PATTERN = /^\d+(\.\d{1,9})?s$/;
const MAX_TTL_SECONDS = 2_419_200;
const MAX_DATA_BYTES = 4096;

interface FcmError {
  status: number;
  googleStatus: string;
  message: string;
}

/** FCM v1 error codes a `sim-<CODE>-x` token can ask for. */
export const FCM_ERRORS: Readonly<Record<string, FcmError>> = {
  UNREGISTERED: { status: 404, googleStatus: 'NOT_FOUND', message: 'Requested entity was not found.' },
  INVALID_ARGUMENT: {
    status: 400,
    googleStatus: 'INVALID_ARGUMENT',
    message: 'The registration token is not a valid FCM registration token',
  },
  SENDER_ID_MISMATCH: { status: 403, googleStatus: 'PERMISSION_DENIED', message: 'SenderId mismatch' },
  QUOTA_EXCEEDED: {
    status: 429,
    googleStatus: 'RESOURCE_EXHAUSTED',
    message: 'Quota exceeded for the messages sent to this device.',
  },
  UNAVAILABLE: { status: 503, googleStatus: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
  INTERNAL: { status: 500, googleStatus: 'INTERNAL', message: 'Internal error encountered.' },
  THIRD_PARTY_AUTH_ERROR: {
    status: 401,
    googleStatus: 'UNAUTHENTICATED',
    message: 'Auth error from APNS or Web Push Service',
  },
};

export function googleErrorBody(status: number, googleStatus: string, message: string, errorCode?: string): string {
  const error: Record<string, unknown> = { code: status, message, status: googleStatus };
  if (errorCode !== undefined) error.details = [{ '@type': FCM_ERROR_TYPE, errorCode }];
  return JSON.stringify({ error });
}

const SIM_ERROR_BODIES: Record<string, string> = {};
for (const [code, e] of Object.entries(FCM_ERRORS)) {
  SIM_ERROR_BODIES[code] = googleErrorBody(e.status, e.googleStatus, e.message, code);
}
const UNAUTHENTICATED_BODY = googleErrorBody(
  401,
  'UNAUTHENTICATED',
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
);
const NOT_FOUND_BODY = googleErrorBody(404, 'NOT_FOUND', 'The requested URL was not found on this server.');

const MESSAGE_KEYS = new Set([
  'name',
  'data',
  'notification',
  'android',
  'webpush',
  'apns',
  'fcm_options',
  'fcmOptions',
  'token',
  'topic',
  'condition',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Returns FCM's INVALID_ARGUMENT message for a malformed request body, undefined if it is acceptable. */
export function validateSendBody(body: unknown): string | undefined {
  if (!isObject(body)) return 'Invalid JSON payload received. Expected an object.';
  for (const key in body) {
    if (key !== 'message' && key !== 'validate_only' && key !== 'validateOnly') {
      return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
    }
  }
  const validateOnly = body.validate_only ?? body.validateOnly;
  if (validateOnly !== undefined && typeof validateOnly !== 'boolean') {
    return "Invalid value at 'validate_only' (TYPE_BOOL)";
  }
  const message = body.message;
  if (!isObject(message)) return "Invalid value at 'message': a message object is required.";
  for (const key in message) {
    if (!MESSAGE_KEYS.has(key)) return `Invalid JSON payload received. Unknown name "${key}" at 'message': Cannot find field.`;
  }
  let targets = 0;
  for (const key of ['token', 'topic', 'condition']) {
    const target = message[key];
    if (target === undefined) continue;
    if (typeof target !== 'string' || target === '') return `Invalid value at 'message.${key}' (TYPE_STRING)`;
    targets++;
  }
  if (targets === 0) return 'Recipient of the message is not set.';
  if (targets > 1) return "Invalid value at 'message' (oneof field 'target' is already set)";
  const dataError = validateData(message.data, 'message.data');
  if (dataError) return dataError;
  if (message.notification !== undefined && !isObject(message.notification)) {
    return "Invalid value at 'message.notification' (type.googleapis.com/google.firebase.fcm.v1.Notification)";
  }
  for (const key of ['webpush', 'apns', 'fcm_options', 'fcmOptions']) {
    if (message[key] !== undefined && !isObject(message[key])) return `Invalid value at 'message.${key}'`;
  }
  const android = message.android;
  if (android !== undefined) {
    if (!isObject(android)) return "Invalid value at 'message.android' (type.googleapis.com/google.firebase.fcm.v1.AndroidConfig)";
    const collapseKey = android.collapse_key ?? android.collapseKey;
    if (collapseKey !== undefined && typeof collapseKey !== 'string') {
      return "Invalid value at 'message.android.collapse_key' (TYPE_STRING)";
    }
    const priority = android.priority;
    if (priority !== undefined && !(typeof priority === 'string' && /^(HIGH|NORMAL|high|normal)$/.test(priority))) {
      return `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), ${JSON.stringify(priority)}`;
    }
    const ttl = android.ttl;
    if (ttl !== undefined && !(typeof ttl === 'string' && TTL_PATTERN.test(ttl) && parseFloat(ttl) <= MAX_TTL_SECONDS)) {
      return `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(ttl)}`;
    }
    const androidDataError = validateData(android.data, 'message.android.data');
    if (androidDataError) return androidDataError;
    if (android.notification !== undefined && !isObject(android.notification)) {
      return "Invalid value at 'message.android.notification'";
    }
  }
  return undefined;
}

/**
 * FCM's rules for a `data` map (REST reference, `Message.data`; "Firebase Cloud Messaging message types"): string
 * values, no reserved key (`from`, `message_type`, anything starting with `google` or `gcm`), at most 4,096 bytes.
 */
function validateData(data: unknown, field: string): string | undefined {
  if (data === undefined) return undefined;
  if (!isObject(data)) return `Invalid value at '${field}' (Map<string, string>)`;
  let i = 0;
  for (const key in data) {
    if (key === 'from' || key === 'message_type' || key.startsWith('google') || key.startsWith('gcm')) {
      return `Invalid data payload key: ${key}`;
    }
    if (typeof data[key] !== 'string') return `Invalid value at '${field}[${i}].value' (TYPE_STRING), ${JSON.stringify(data[key])}`;
    i++;
  }
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) return 'Android message is too big';
  return undefined;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

function gone(res: AnyResponse): boolean {
  return 'stream' in res ? res.stream.destroyed : res.destroyed;
}

function reply(res: AnyResponse, status: number, headers: Readonly<Record<string, string>>, body: string): void {
  if (gone(res)) return;
  try {
    // Both response classes take (status, headers) and end(body); their overload sets just don't unify.
    const r = res as ServerResponse;
    r.writeHead(status, headers as Record<string, string>);
    r.end(body);
  } catch {
    // The client went away between the check and the write.
  }
}

function headerValue(req: AnyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export interface FcmServerOptions {
  state: SimState;
  material: SimulatorMaterial;
  onSocket: (socket: Socket) => void;
}

export function createFcmServer({ state, material, onSocket }: FcmServerOptions): Http2SecureServer {
  const clientEmail = material.fcm.serviceAccount.client_email;
  const project = material.fcm.serviceAccount.project_id;
  const accessTokens = new Map<string, SimAuth & { kind: 'oauth' }>();
  let messageSeq = 0;
  const idPrefix = `${Date.now().toString(36)}`;

  const server = http2.createSecureServer(
    {
      key: material.serverKeyPem,
      cert: material.serverCertPem,
      allowHTTP1: true,
      settings: { maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS },
      SNICallback: state.faults.sniCallback('fcm'),
    },
    (req: Http2ServerRequest, res: Http2ServerResponse) => onRequest(req, res),
  );
  server.on('connection', onSocket);
  server.on('session', (session: Http2Session) => session.on('error', noop));
  state.faults.attach('fcm', server);

  function onRequest(req: AnyRequest, res: AnyResponse): void {
    req.on('error', noop);
    const at = Date.now();
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_KEPT) return;
      if (first === undefined) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    req.on('end', () => {
      const body = more ? Buffer.concat(more) : first;
      const url = req.url ?? '';
      if (req.method === 'POST' && url.startsWith(SEND_PREFIX) && url.endsWith(SEND_SUFFIX)) {
        const sendProject = url.slice(SEND_PREFIX.length, url.length - SEND_SUFFIX.length);
        if (sendProject && sendProject.indexOf('/') < 0) {
          send(req, res, sendProject, body, at);
          return;
        }
      }
      if (req.method === 'POST' && (url === '/token' || url === '/oauth2/v4/token')) {
        issueToken(res, body);
        return;
      }
      reply(res, 404, JSON_HEADERS, NOT_FOUND_BODY);
    });
  }

  function issueToken(res: AnyResponse, body: Buffer | undefined): void {
    state.countOAuth();
    const failing = state.faults.oauthStatus;
    if (failing > 0) {
      reply(
        res,
        failing,
        JSON_HEADERS,
        JSON.stringify({ error: 'internal_failure', error_description: 'simulated token endpoint failure' }),
      );
      return;
    }
    const params = new URLSearchParams(body ? body.toString('utf8') : '');
    const problem =
      params.get('grant_type') !== JWT_BEARER_GRANT
        ? 'Invalid grant_type'
        : checkAssertion(params.get('assertion') ?? '', clientEmail, material.fcmPublicKey);
    if (problem !== undefined) {
      reply(res, 400, JSON_HEADERS, JSON.stringify({ error: 'invalid_grant', error_description: problem }));
      return;
    }
    const accessToken = `sim-${randomBytes(24).toString('base64url')}`;
    if (accessTokens.size >= ACCESS_TOKENS_LIMIT) accessTokens.delete(accessTokens.keys().next().value!);
    accessTokens.set(accessToken, Object.freeze({ kind: 'oauth', project }));
    reply(res, 200, JSON_HEADERS, `{"access_token":"${accessToken}","expires_in":3599,"token_type":"Bearer"}`);
  }

  function send(req: AnyRequest, res: AnyResponse, sendProject: string, body: Buffer | undefined, at: number): void {
    const record: SimRecord = {
      platform: 'android',
      token: '',
      status: 200,
      reason: undefined,
      headers: plainHeaders(req.headers),
      payload: undefined,
      auth: NO_AUTH,
      attempt: 0,
      at,
    };
    let parsed: unknown;
    let parseFailed = false;
    if (body !== undefined) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parseFailed = true;
      }
    }
    const message = isObject(parsed) && isObject(parsed.message) ? parsed.message : undefined;
    record.payload = message ?? parsed;
    const target = message && (message.token ?? message.topic ?? message.condition);
    if (typeof message?.token === 'string') record.token = message.token;
    record.attempt = typeof target === 'string' ? state.nextAttempt('android', target) : 0;

    let status = 200;
    let errorKey: string | undefined;
    let responseBody: string;
    let headers: Readonly<Record<string, string>> = JSON_HEADERS;
    let delay = state.latencyMs;

    const authorization = headerValue(req, 'authorization');
    const auth =
      authorization && authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer '
        ? accessTokens.get(authorization.slice(7).trim())
        : undefined;
    const invalid = parseFailed ? 'Invalid JSON payload received.' : validateSendBody(parsed);
    const broken = state.faults.brokenStatus('fcm', 'stream' in req ? req.stream.session : undefined);
    const quotaLeftMs = state.faults.quotaUntil - Date.now();
    const fault = broken === undefined && quotaLeftMs <= 0 ? state.faults.answer('fcm', 'UNAVAILABLE') : undefined;
    if (broken !== undefined) {
      errorKey = broken === 503 ? 'UNAVAILABLE' : 'INTERNAL';
      status = FCM_ERRORS[errorKey].status;
      responseBody = SIM_ERROR_BODIES[errorKey];
    } else if (auth === undefined) {
      status = 401;
      errorKey = 'UNAUTHENTICATED';
      responseBody = UNAUTHENTICATED_BODY;
    } else if ((record.auth = auth).project !== sendProject) {
      status = 403;
      errorKey = 'PERMISSION_DENIED';
      responseBody = googleErrorBody(
        403,
        'PERMISSION_DENIED',
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${sendProject}' (or it may not exist).`,
      );
    } else if (invalid !== undefined) {
      status = 400;
      errorKey = 'INVALID_ARGUMENT';
      responseBody = googleErrorBody(400, 'INVALID_ARGUMENT', invalid, 'INVALID_ARGUMENT');
    } else if (quotaLeftMs > 0) {
      status = 429;
      errorKey = 'QUOTA_EXCEEDED';
      responseBody = SIM_ERROR_BODIES.QUOTA_EXCEEDED;
      headers = { ...JSON_HEADERS, 'retry-after': String(Math.ceil(quotaLeftMs / 1000)) };
    } else if (fault?.kind === 'fail' && FCM_ERRORS[fault.code] !== undefined) {
      status = FCM_ERRORS[fault.code].status;
      errorKey = fault.code;
      responseBody = SIM_ERROR_BODIES[fault.code];
      if (status === 429 || status === 503) headers = RETRY_HEADERS;
    } else {
      const behaviour = fault?.kind === 'hang' ? fault : parseSimToken(record.token);
      if (behaviour?.kind === 'hang') {
        record.status = 0;
        state.store(record);
        return;
      }
      if (behaviour?.kind === 'slow') delay = behaviour.ms;
      const simError = behaviour?.kind === 'fail' ? FCM_ERRORS[behaviour.code] : undefined;
      if (behaviour?.kind === 'fail' && simError !== undefined && (behaviour.flaky === 0 || record.attempt <= behaviour.flaky)) {
        status = simError.status;
        errorKey = behaviour.code;
        responseBody = SIM_ERROR_BODIES[behaviour.code];
        if (status === 429 || status === 503) headers = RETRY_HEADERS;
      } else {
        const validateOnly = isObject(parsed) && (parsed.validate_only === true || parsed.validateOnly === true);
        const id = validateOnly ? 'fake_message_id' : `${idPrefix}-${++messageSeq}`;
        responseBody = `{"name":"projects/${sendProject}/messages/${id}"}`;
      }
    }
    record.status = status;
    record.reason = errorKey;
    if (delay > 0) setTimeout(finish, delay, res, record, headers, responseBody).unref();
    else finish(res, record, headers, responseBody);
  }

  function finish(res: AnyResponse, record: SimRecord, headers: Readonly<Record<string, string>>, body: string): void {
    state.store(record);
    state.count('android', record.reason);
    reply(res, record.status, headers, body);
  }

  return server;
}

/** Checks an RS256 OAuth assertion from the service account; returns the problem, undefined if valid. */
function checkAssertion(assertion: string, clientEmail: string, publicKey: KeyObject): string | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'Invalid JWT: malformed assertion';
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    if (header.alg !== 'RS256') return 'Invalid JWT: unsupported algorithm';
    if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'))) {
      return 'Invalid JWT Signature.';
    }
    if (claims.iss !== clientEmail) return 'Invalid JWT: unknown issuer';
    if (claims.aud !== SIM_TOKEN_URI) return 'Invalid JWT: audience must be the token endpoint';
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) return 'Invalid JWT: Token must be a short-lived token';
    return undefined;
  } catch {
    return 'Invalid JWT: malformed assertion';
  }
}
