import { accessSync, constants, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { registerAs } from '@nestjs/config';
import { parse as parseToml } from 'smol-toml';

type Scalar = string | number | boolean;

export interface CoreConfig {
  port: string;
  workers: number;
  queues: number;
  notification_max: number;
  token_max: number;
  body_limit: number;
  pusher_max: number;
  shutdown_timeout: number;
  shutdown_delay: number;
  pid: string;
  allows_empty_message: boolean;
  log_full_token: boolean;
  /** Refuse a POST /push body with keys the request does not define (or spelled in another case) instead of ignoring them. */
  strict_keys: boolean;
  /** Seconds a client may take to send the request headers. */
  header_timeout: number;
  /** Seconds a client may take to send the whole request. */
  request_timeout: number;
  /** Seconds an idle client connection is kept open; above the idle timeout of the load balancers in front. */
  keepalive_timeout: number;
  /** Worker threads carrying the provider connections (TLS and HTTP/2); 0 keeps them in the main thread. */
  transport_threads: number;
  /** Client connections open at once; those above are closed as they arrive. 0 = no limit. */
  max_connections: number;
  /**
   * `auto`: without provider credentials the embedded simulator stands in for APNs and FCM; `off`: such a start is
   * refused, so a production deployment that lost its credentials cannot deliver to a simulator.
   */
  simulator: string;
  /**
   * HTTP proxy for the provider connections (`http://[user:pass@]host:port`), tunnelled with CONNECT; the
   * `HTTPS_PROXY` / `https_proxy` environment variables when not set.
   */
  https_proxy: string;
  /** Hosts reached without the proxy (`NO_PROXY` syntax); `NO_PROXY` / `no_proxy` when not set. */
  no_proxy: string;
}

export interface IosConfig {
  enabled: boolean;
  pem_cert_path: string;
  pem_key_path: string;
  pem_key_passphrase: string;
  token_auth_key_path: string;
  token_auth_key_id: string;
  token_auth_team_id: string;
  topic: string;
  /** Further `apns-topic` values a notification may name (comma-separated, or a TOML array); its credential must cover them. */
  topics: string;
  sandbox: boolean;
  retry_max: number;
  timeout: number;
  keepalive_timeout: number;
  keepalive_conns: number;
  endpoint: string;
  ca_path: string;
}

export interface AndroidConfig {
  enabled: boolean;
  apikey: string;
  service_account_path: string;
  retry_max: number;
  timeout: number;
  keepalive_timeout: number;
  keepalive_conns: number;
  endpoint: string;
  ca_path: string;
}

/** The queue provider: `memory` (embedded) or `redis` (shared by replicas, durable). */
export interface QueueConfig {
  backend: string;
  redis_url: string;
  /** CA bundle (PEM) to trust for a `rediss://` URL, besides the system's. */
  redis_ca_path: string;
  /** Key prefix, so that several gateways (or environments) can share one Redis. */
  redis_prefix: string;
  /** Seconds a push held by a replica that stopped answering stays unclaimed before another replica takes it. */
  claim_idle: number;
  /** Seconds a push that ended failed stays in the dead-letter set. */
  dead_letter_ttl: number;
  /** Sentinels (`host:port,host:port`) that name the primary, instead of `redis_url`. */
  redis_sentinels: string;
  /** The primary's name in the Sentinel configuration (`sentinel monitor <name> ...`). */
  redis_sentinel_master: string;
  redis_sentinel_password: string;
  /** TLS to the sentinels themselves. */
  redis_sentinel_tls: boolean;
  /** Seed nodes (`host:port,host:port`) of a Redis Cluster, instead of `redis_url`. */
  redis_cluster_nodes: string;
  /** ACL user and password of the data nodes (with a URL, those in the URL take precedence). */
  redis_username: string;
  redis_password: string;
  /** TLS to the data nodes (a `rediss://` URL turns it on too). */
  redis_tls: boolean;
  /** Replicas that must have a request's pushes (Redis `WAIT`) before it is answered 200; 0 = do not wait. */
  redis_wait_replicas: number;
  /** Milliseconds `WAIT` may take; past it the request is answered 503. */
  redis_wait_timeout_ms: number;
}

/** Access control for the HTTP API. */
export interface AuthConfig {
  api_keys: string;
  api_keys_path: string;
  /** Require a key for `/stat/*` and `/metrics` too. */
  protect_stats: boolean;
  /** Requests per second per key (per client address without keys); 0 = no limit. */
  rate_limit: number;
  /** Wrong API keys a client address may present per minute before it gets 429; 0 = no limit. */
  failed_key_limit: number;
  /** Without API keys, let anyone reload the configuration and read or replay dead letters. */
  anonymous_admin: boolean;
}

/** Invalid-token feedback to the backend that owns the token database. */
export interface FeedbackConfig {
  webhook_url: string;
  webhook_secret: string;
  /** Dead tokens per webhook POST. */
  batch_size: number;
  /** Seconds a dead token may wait for its batch to fill before it is sent. */
  flush_interval: number;
  /** Dead tokens held while the webhook is unreachable; beyond it the oldest are dropped. */
  buffer_size: number;
  /** Recent dead tokens kept for `GET /feedback/invalid-tokens`; 0 turns the endpoint off. */
  history_size: number;
  /** Seconds one webhook POST may take. */
  timeout: number;
}

/** Gorush's API beside pushgate's (`/api/push`, `/api/stat/*`, `/healthz`, `/api/config`). */
export interface GorushConfig {
  /** Gorush's `core.sync`: `/api/push` answers once every push has ended, with the failures in `logs`. */
  sync: boolean;
  /** `/metrics` also carries Gorush's metric names (`gorush_total_push_count`, ...). */
  metric_names: boolean;
}

export interface LogConfig {
  access_log: string;
  error_log: string;
  level: string;
  /** `json` (pino's lines) or `gaurun` (Gaurun's zap lines, for pipelines that parse them). */
  format: string;
}

/**
 * One app served by the gateway: its own APNs and FCM credentials and clients. The Gaurun `[ios]` / `[android]`
 * sections form the app named {@link DEFAULT_APP}; `[apps.<name>.ios]` / `[apps.<name>.android]` add others.
 */
export interface AppConfig {
  ios: IosConfig;
  android: AndroidConfig;
  /** Sends of this app in flight at most; 0 = three quarters of the total concurrency when several apps are configured. */
  in_flight_max: number;
  /** Comma-separated API keys that may push to this app (and to no app they are not listed for). */
  api_keys: string;
}

/** The app a notification without an `app` field goes to. */
export const DEFAULT_APP = 'default';

/** Named-app keys outside the ios/android tables, with their defaults. */
export const APP_DEFAULTS = { in_flight_max: 0, api_keys: '' };

const APP_NAME = /^[a-z0-9]+(_[a-z0-9]+)*$/;

export interface PushgateConfig {
  core: CoreConfig;
  ios: IosConfig;
  android: AndroidConfig;
  queue: QueueConfig;
  auth: AuthConfig;
  feedback: FeedbackConfig;
  gorush: GorushConfig;
  log: LogConfig;
  /** Every configured app by name, the default one (from `[ios]` / `[android]`) included when it has credentials. */
  apps: Record<string, AppConfig>;
  /** True when no provider credentials are configured: the embedded simulator stands in for APNs and FCM. */
  simulator: boolean;
  /** Keys found in the file that pushgate does not know (Gaurun leftovers or typos), reported at boot. */
  unknown_keys: string[];
}

type Sections = Omit<PushgateConfig, 'simulator' | 'unknown_keys' | 'apps'>;

const cpus = availableParallelism();

export const CONFIG_DEFAULTS: Sections = {
  core: {
    port: '1056',
    workers: cpus,
    queues: 8192,
    notification_max: 100,
    token_max: 1000,
    body_limit: 10 * 1024 * 1024,
    pusher_max: 255,
    shutdown_timeout: 10,
    shutdown_delay: 0,
    pid: '',
    allows_empty_message: false,
    log_full_token: false,
    strict_keys: false,
    header_timeout: 20,
    request_timeout: 60,
    keepalive_timeout: 75,
    transport_threads: 1,
    max_connections: 0,
    simulator: 'auto',
    https_proxy: '',
    no_proxy: '',
  },
  ios: {
    enabled: true,
    pem_cert_path: '',
    pem_key_path: '',
    pem_key_passphrase: '',
    token_auth_key_path: '',
    token_auth_key_id: '',
    token_auth_team_id: '',
    topic: '',
    topics: '',
    sandbox: true,
    retry_max: 1,
    timeout: 5,
    keepalive_timeout: 90,
    keepalive_conns: cpus,
    endpoint: '',
    ca_path: '',
  },
  android: {
    enabled: true,
    apikey: '',
    service_account_path: '',
    retry_max: 1,
    timeout: 5,
    keepalive_timeout: 90,
    keepalive_conns: cpus,
    endpoint: '',
    ca_path: '',
  },
  queue: {
    backend: 'memory',
    redis_url: '',
    redis_ca_path: '',
    redis_prefix: 'pushgate',
    claim_idle: 30,
    dead_letter_ttl: 604_800,
    redis_sentinels: '',
    redis_sentinel_master: '',
    redis_sentinel_password: '',
    redis_sentinel_tls: false,
    redis_cluster_nodes: '',
    redis_username: '',
    redis_password: '',
    redis_tls: false,
    redis_wait_replicas: 0,
    redis_wait_timeout_ms: 500,
  },
  auth: {
    api_keys: '',
    api_keys_path: '',
    protect_stats: false,
    rate_limit: 0,
    failed_key_limit: 10,
    anonymous_admin: false,
  },
  feedback: {
    webhook_url: '',
    webhook_secret: '',
    batch_size: 100,
    flush_interval: 1,
    buffer_size: 10_000,
    history_size: 1000,
    timeout: 10,
  },
  gorush: {
    sync: false,
    metric_names: false,
  },
  log: {
    access_log: 'stdout',
    error_log: 'stderr',
    level: 'error',
    format: 'json',
  },
};

/** The largest `core.pusher_max`, in the file and through `PUT /config/pushers`. */
export const PUSHER_MAX_LIMIT = 100_000;

/**
 * `log.level` in any case: pino's names, and zap's (Gaurun's) mapped to the nearest pino threshold. zap's `dpanic` and
 * `panic` sit above `error` and below `fatal`; `fatal` is the nearest threshold that still hides errors. zap reads an
 * empty level as `info`.
 */
const LOG_LEVELS = new Map([
  ['trace', 'trace'],
  ['debug', 'debug'],
  ['info', 'info'],
  ['', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['dpanic', 'fatal'],
  ['panic', 'fatal'],
  ['fatal', 'fatal'],
]);

/** Integer keys and their allowed range. */
const INT_RANGES: Record<string, [number, number]> = {
  'core.workers': [1, 1024],
  'core.queues': [1, 100_000_000],
  'core.notification_max': [1, 100_000],
  'core.token_max': [1, 1_000_000],
  'core.body_limit': [1024, 1024 * 1024 * 1024],
  'core.pusher_max': [0, PUSHER_MAX_LIMIT],
  'core.shutdown_timeout': [0, 3600],
  'core.shutdown_delay': [0, 3600],
  'core.header_timeout': [1, 3600],
  'core.request_timeout': [1, 3600],
  'core.keepalive_timeout': [1, 3600],
  'core.transport_threads': [0, 64],
  'core.max_connections': [0, 10_000_000],
  'auth.rate_limit': [0, 1_000_000],
  'auth.failed_key_limit': [0, 1_000_000],
  'ios.retry_max': [0, 100],
  'ios.timeout': [1, 600],
  'ios.keepalive_timeout': [0, 86_400],
  'ios.keepalive_conns': [1, 64],
  'android.retry_max': [0, 100],
  'android.timeout': [1, 600],
  'android.keepalive_timeout': [0, 86_400],
  'android.keepalive_conns': [1, 64],
  'queue.claim_idle': [1, 3600],
  'queue.dead_letter_ttl': [1, 31_536_000],
  'queue.redis_wait_replicas': [0, 64],
  'queue.redis_wait_timeout_ms': [1, 60_000],
  'feedback.batch_size': [1, 10_000],
  'feedback.flush_interval': [1, 3600],
  'feedback.buffer_size': [1, 10_000_000],
  'feedback.history_size': [0, 1_000_000],
  'feedback.timeout': [1, 600],
  'apps.in_flight_max': [0, 1_000_000],
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSource {
  /** TOML file path; absent means defaults and environment only. */
  path?: string;
  /** Environment: `PUSHGATE_<SECTION>_<KEY>` overrides `<section>.<key>`. */
  env?: NodeJS.ProcessEnv;
}

/** The environment variable that sets `section.key`: `PUSHGATE_CORE_PORT` for `core.port`. */
export function envName(section: string, key: string): string {
  return `PUSHGATE_${section}_${key}`.toUpperCase();
}

/** Keys whose values are credentials (or may hold one, as a URL with a password): never quoted in a message. */
const SECRET_KEY = /(^|[._ ])(api_keys|apikey|pem_key_passphrase|webhook_secret|webhook_url|redis_url)(\)|$)/i;

/** A value for a problem message: quoted, unless the key holds a secret. */
function shown(raw: unknown, name: string): string {
  return SECRET_KEY.test(name) ? 'a value not shown here (it may be a secret)' : JSON.stringify(raw);
}

function coerce(raw: unknown, like: Scalar, name: string, problems: string[]): Scalar | undefined {
  if (typeof like === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string' && /^(true|false|1|0)$/i.test(raw.trim())) {
      return /^(true|1)$/i.test(raw.trim());
    }
    problems.push(`${name}: expected true or false, got ${shown(raw, name)}`);
    return undefined;
  }
  if (typeof like === 'number') {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'bigint') return Number(value);
    problems.push(`${name}: expected an integer, got ${shown(raw, name)}`);
    return undefined;
  }
  if (typeof raw === 'string') return raw;
  if (name.endsWith('.topics') && Array.isArray(raw) && raw.every((t) => typeof t === 'string')) return raw.join(',');
  // Gaurun configs often write ports as numbers: `port = 1056`.
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  problems.push(`${name}: expected a string, got ${shown(raw, name)}`);
  return undefined;
}

/**
 * A TOML syntax error as position, key and reason. smol-toml's message ends with a code frame of the offending
 * lines, and the line with the error is often the one holding a secret (`api_keys = "...`): it is never repeated.
 */
export function describeTomlError(path: string, text: string, error: unknown): string {
  const { line, column, message } = error as { line?: unknown; column?: unknown; message?: unknown };
  const firstLine = (typeof message === 'string' ? message : '').split('\n')[0];
  const reason = /^Invalid TOML document: (.+)$/.exec(firstLine)?.[1] ?? 'not a TOML document';
  if (typeof line !== 'number') return `${path}: TOML syntax error: ${reason}`;
  const lines = text.split(/\r?\n/);
  let key: string | undefined;
  let table = '';
  for (let i = 0; i < Math.min(line, lines.length); i++) {
    const header = /^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$/.exec(lines[i]);
    if (header) {
      table = header[1];
      key = undefined;
      continue;
    }
    const assignment = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(lines[i]);
    if (assignment) key = assignment[1];
  }
  const where = key ? ` (${table ? `${table}.` : ''}${key})` : table ? ` (in [${table}])` : '';
  const at = typeof column === 'number' ? `line ${line}, column ${column}` : `line ${line}`;
  return `${path}: TOML syntax error at ${at}${where}: ${reason}; the line is not shown, it may hold a secret`;
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads, merges and validates the configuration once: defaults, then the TOML file, then the environment.
 * Every problem is collected and thrown together as a {@link ConfigError}.
 */
export function loadConfig(source: ConfigSource = {}): PushgateConfig {
  const problems: string[] = [];
  const unknown: string[] = [];
  let file: Record<string, unknown> = {};
  if (source.path) {
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      throw new ConfigError([`${source.path}: ${(error as Error).message}`]);
    }
    try {
      file = parseToml(text);
    } catch (error) {
      throw new ConfigError([describeTomlError(source.path, text, error)]);
    }
  }

  const merged = structuredClone(CONFIG_DEFAULTS) as unknown as Record<string, Record<string, Scalar>>;
  const env = source.env ?? {};
  const named = loadApps(file.apps, env, problems, unknown);
  for (const [section, values] of Object.entries(file)) {
    if (section === 'apps') continue;
    if (!(section in merged)) {
      unknown.push(section);
      continue;
    }
    if (typeof values !== 'object' || values === null) {
      problems.push(`${section}: expected a table`);
      continue;
    }
    for (const [key, raw] of Object.entries(values as Record<string, unknown>)) {
      const defaults = merged[section];
      if (!(key in defaults)) {
        unknown.push(`${section}.${key}`);
        continue;
      }
      const value = coerce(raw, defaults[key], `${section}.${key}`, problems);
      if (value !== undefined) defaults[key] = value;
    }
  }
  for (const [section, defaults] of Object.entries(merged)) {
    for (const key of Object.keys(defaults)) {
      const raw = env[envName(section, key)];
      if (raw === undefined) continue;
      const value = coerce(raw, defaults[key], `${envName(section, key)} (${section}.${key})`, problems);
      if (value !== undefined) defaults[key] = value;
    }
  }

  const config = merged as unknown as Sections;
  for (const [name, [min, max]] of Object.entries(INT_RANGES)) {
    const [section, key] = name.split('.');
    if (!(section in merged)) continue;
    const value = merged[section][key] as number;
    if (value < min || value > max) problems.push(`${name}: ${value} is outside ${min}..${max}`);
  }
  if (!/^(unix:.+|\d{1,5})$/.test(config.core.port) || (!config.core.port.startsWith('unix:') && Number(config.core.port) > 65535)) {
    problems.push(`core.port: "${config.core.port}" is neither a TCP port nor unix:/path`);
  }
  if (config.feedback.webhook_url !== '') {
    if (!/^https?:\/\/[^/]/i.test(config.feedback.webhook_url) || !URL.canParse(config.feedback.webhook_url)) {
      problems.push('feedback.webhook_url: expected an http:// or https:// URL');
    }
    if (config.feedback.webhook_secret === '')
      problems.push('feedback.webhook_secret: required with feedback.webhook_url (the HMAC key that signs each POST)');
  }
  // The conventional variables, for the provider connections only; the keys take precedence.
  config.core.https_proxy ||= env.HTTPS_PROXY || env.https_proxy || '';
  config.core.no_proxy ||= env.NO_PROXY || env.no_proxy || '';
  if (config.core.https_proxy !== '') {
    const proxy = URL.canParse(config.core.https_proxy) ? new URL(config.core.https_proxy) : undefined;
    if (proxy?.protocol !== 'http:' || proxy.hostname === '' || (proxy.pathname !== '/' && proxy.pathname !== '')) {
      // Not quoted: the URL may hold a password.
      problems.push('core.https_proxy: expected http://[user:password@]host:port (the HTTPS_PROXY variable when the key is not set)');
    }
  }
  if (!['auto', 'off'].includes(config.core.simulator)) problems.push(`core.simulator: "${config.core.simulator}" is neither auto nor off`);
  if (!['memory', 'redis'].includes(config.queue.backend))
    problems.push(`queue.backend: "${config.queue.backend}" is neither memory nor redis`);
  if (config.queue.backend === 'redis') validateRedis(config.queue, problems);
  if (config.queue.redis_ca_path !== '' && !readable(config.queue.redis_ca_path))
    problems.push(`queue.redis_ca_path: cannot read "${config.queue.redis_ca_path}"`);
  const level = LOG_LEVELS.get(config.log.level.toLowerCase());
  if (level === undefined) {
    problems.push(`log.level: "${config.log.level}" is not one of trace, debug, info, warn, error, dpanic, panic, fatal`);
  } else {
    config.log.level = level;
  }
  if (!['json', 'gaurun'].includes(config.log.format)) problems.push(`log.format: "${config.log.format}" is neither json nor gaurun`);
  if (config.core.header_timeout > config.core.request_timeout) {
    problems.push(
      `core.header_timeout: ${config.core.header_timeout} is longer than core.request_timeout (${config.core.request_timeout})`,
    );
  }
  if (config.auth.api_keys_path !== '' && !readable(config.auth.api_keys_path)) {
    problems.push(`auth.api_keys_path: cannot read "${config.auth.api_keys_path}"`);
  }
  const apps: Record<string, AppConfig> = {};
  const defaultApp: AppConfig = { ios: config.ios, android: config.android, ...APP_DEFAULTS };
  // With named apps, `[ios]` / `[android]` without any credentials simply means there is no default app.
  const defaultConfigured = Object.keys(named).length === 0 || hasCredentials(defaultApp);
  const noCredentials = defaultConfigured && !hasCredentials(defaultApp) && config.android.apikey === '';
  const simulator = noCredentials && config.core.simulator !== 'off';
  if (noCredentials && config.core.simulator === 'off') {
    problems.push(
      'core.simulator = "off" and no provider credentials: set ios.token_auth_key_path, ios.token_auth_key_id, ' +
        'ios.token_auth_team_id and ios.topic (or ios.pem_cert_path and ios.pem_key_path), and/or ' +
        'android.service_account_path, or [apps.<name>] credentials',
    );
  }
  if (defaultConfigured) {
    validateCredentials(defaultApp, '', problems);
    apps[DEFAULT_APP] = defaultApp;
  }
  for (const [name, app] of Object.entries(named)) {
    validateAppRanges(app, `apps.${name}.`, problems);
    validateCredentials(app, `apps.${name}.`, problems);
    apps[name] = app;
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, apps, simulator, unknown_keys: unknown };
}

/** Exactly one way to reach Redis: a URL, sentinels or cluster seed nodes. */
function validateRedis(queue: QueueConfig, problems: string[]): void {
  const { redis_url: url, redis_sentinels: sentinels, redis_cluster_nodes: seeds } = queue;
  const given = [url, sentinels, seeds].filter((v) => v !== '').length;
  if (given === 0 || (url !== '' && !/^rediss?:\/\//.test(url))) {
    problems.push(
      'queue.redis_url: required with queue.backend = "redis" (redis://[:password@]host:port[/db] or rediss:// for TLS), unless queue.redis_sentinels or queue.redis_cluster_nodes is set',
    );
  } else if (url !== '' && !URL.canParse(url)) {
    // The Redis client would throw a TypeError quoting the whole URL, password included.
    problems.push(
      'queue.redis_url: not a valid URL (the value is not shown: it may hold a password); a password with reserved characters must be percent-encoded',
    );
  }
  if (given > 1) problems.push('queue.redis_url, queue.redis_sentinels, queue.redis_cluster_nodes: set only one of them');
  for (const [name, list] of [
    ['redis_sentinels', sentinels],
    ['redis_cluster_nodes', seeds],
  ]) {
    const bad = list === '' ? [] : list.split(',').filter((a) => !/^\s*(\[[0-9a-f:.]+\]|[^\s:,[\]]+):\d{1,5}\s*$/i.test(a));
    if (bad.length > 0) problems.push(`queue.${name}: expected host:port[,host:port...], got ${JSON.stringify(bad.join(','))}`);
  }
  if (sentinels !== '' && queue.redis_sentinel_master === '') {
    problems.push('queue.redis_sentinel_master: required with queue.redis_sentinels (the name the sentinels monitor the primary under)');
  }
}

/** The environment variable that sets a key of a named app: `PUSHGATE_APPS_<NAME>_IOS_<KEY>`. */
export function appEnvName(app: string, platform: 'ios' | 'android' | '', key: string): string {
  return `PUSHGATE_APPS_${app}_${platform === '' ? '' : `${platform}_`}${key}`.toUpperCase();
}

/**
 * Named apps from the `[apps.<name>.ios]`, `[apps.<name>.android]` tables and `PUSHGATE_APPS_<NAME>_...` variables.
 * A platform table that is present is enabled unless it says otherwise; an absent one is disabled.
 */
function loadApps(raw: unknown, env: NodeJS.ProcessEnv, problems: string[], unknown: string[]): Record<string, AppConfig> {
  const tables: Record<string, Record<string, unknown>> = {};
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null) problems.push('apps: expected a table of apps');
    else
      for (const [name, table] of Object.entries(raw as Record<string, unknown>)) tables[name] = (table ?? {}) as Record<string, unknown>;
  }
  for (const variable of Object.keys(env)) {
    const match = /^PUSHGATE_APPS_(.+?)_(IOS|ANDROID|IN_FLIGHT_MAX|API_KEYS)(_|$)/.exec(variable);
    if (match) tables[match[1].toLowerCase()] ??= {};
  }
  const apps: Record<string, AppConfig> = {};
  for (const [name, table] of Object.entries(tables)) {
    const prefix = `apps.${name}`;
    if (!APP_NAME.test(name) || name === DEFAULT_APP) {
      problems.push(`${prefix}: app names are lower-case letters, digits and underscores, and not "${DEFAULT_APP}"`);
      continue;
    }
    const app = {
      ios: { ...CONFIG_DEFAULTS.ios, enabled: false },
      android: { ...CONFIG_DEFAULTS.android, enabled: false },
      ...APP_DEFAULTS,
    };
    const values = app as unknown as Record<string, Record<string, Scalar> | Scalar>;
    for (const [key, value] of Object.entries(table)) {
      if (key === 'ios' || key === 'android') {
        const platform = values[key] as Record<string, Scalar>;
        platform.enabled = true;
        if (typeof value !== 'object' || value === null) {
          problems.push(`${prefix}.${key}: expected a table`);
          continue;
        }
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (!(k in platform)) {
            unknown.push(`${prefix}.${key}.${k}`);
            continue;
          }
          const coerced = coerce(v, platform[k], `${prefix}.${key}.${k}`, problems);
          if (coerced !== undefined) platform[k] = coerced;
        }
      } else if (key in APP_DEFAULTS) {
        const coerced = coerce(value, values[key] as Scalar, `${prefix}.${key}`, problems);
        if (coerced !== undefined) values[key] = coerced;
      } else {
        unknown.push(`${prefix}.${key}`);
      }
    }
    for (const platformName of ['ios', 'android'] as const) {
      const platform = values[platformName] as Record<string, Scalar>;
      let seen = false;
      for (const key of Object.keys(platform)) {
        const variable = env[appEnvName(name, platformName, key)];
        if (variable === undefined) continue;
        seen = true;
        const coerced = coerce(
          variable,
          platform[key],
          `${appEnvName(name, platformName, key)} (${prefix}.${platformName}.${key})`,
          problems,
        );
        if (coerced !== undefined) platform[key] = coerced;
      }
      // A platform given only through the environment is enabled as a table in the file would be.
      if (seen && !(platformName in table) && env[appEnvName(name, platformName, 'enabled')] === undefined) platform.enabled = true;
    }
    for (const key of Object.keys(APP_DEFAULTS)) {
      const variable = env[appEnvName(name, '', key)];
      if (variable === undefined) continue;
      const coerced = coerce(variable, values[key] as Scalar, `${appEnvName(name, '', key)} (${prefix}.${key})`, problems);
      if (coerced !== undefined) values[key] = coerced;
    }
    apps[name] = app;
  }
  return apps;
}

function validateAppRanges(app: AppConfig, prefix: string, problems: string[]): void {
  for (const [name, [min, max]] of Object.entries(INT_RANGES)) {
    const [section, key] = name.split('.');
    if (section !== 'ios' && section !== 'android') continue;
    const value = (app[section] as unknown as Record<string, number>)[key];
    if (value < min || value > max) problems.push(`${prefix}${name}: ${value} is outside ${min}..${max}`);
  }
  const [min, max] = INT_RANGES['apps.in_flight_max'];
  if (app.in_flight_max < min || app.in_flight_max > max)
    problems.push(`${prefix}in_flight_max: ${app.in_flight_max} is outside ${min}..${max}`);
}

function hasCredentials({ ios, android }: AppConfig): boolean {
  const iosCredentials =
    ios.enabled &&
    [ios.pem_cert_path, ios.pem_key_path, ios.token_auth_key_path, ios.token_auth_key_id, ios.token_auth_team_id].some((v) => v !== '');
  return iosCredentials || (android.enabled && android.service_account_path !== '');
}

/** Checks one app's credentials; `prefix` is `apps.<name>.` for a named app, empty for the default one. */
function validateCredentials(app: AppConfig, prefix: string, problems: string[]): void {
  const { ios, android } = app;
  if (!ios.enabled && !android.enabled)
    problems.push(`${prefix}ios.enabled and ${prefix}android.enabled are both false: nothing to push to`);
  if (android.enabled && android.apikey !== '') {
    problems.push(
      `${prefix}android.apikey:` +
        ' the legacy FCM server key stopped working when Google shut the legacy API down in 2024; ' +
        'remove it and set android.service_account_path to a Firebase service-account JSON file (FCM HTTP v1)',
    );
  }
  const certAuth = ios.pem_cert_path !== '' || ios.pem_key_path !== '';
  const tokenAuth = ios.token_auth_key_path !== '' || ios.token_auth_key_id !== '' || ios.token_auth_team_id !== '';
  const iosCredentials = ios.enabled && (certAuth || tokenAuth);
  const androidCredentials = android.enabled && android.service_account_path !== '';
  if (prefix === '' && !iosCredentials && !androidCredentials && android.apikey === '') return;

  const files: [string, string][] = [];
  if (ios.enabled) {
    if (certAuth && tokenAuth) {
      problems.push(`${prefix}ios: both certificate (pem_*) and token (token_auth_*) authentication are configured; choose one`);
    } else if (!certAuth && !tokenAuth) {
      problems.push(
        `${prefix}ios: no credentials; set pem_cert_path and pem_key_path, or token_auth_key_path, token_auth_key_id and token_auth_team_id, or set ios.enabled = false`,
      );
    } else if (certAuth) {
      if (ios.pem_cert_path === '') problems.push(`${prefix}ios.pem_cert_path: required with ios.pem_key_path`);
      if (ios.pem_key_path === '') problems.push(`${prefix}ios.pem_key_path: required with ios.pem_cert_path`);
      files.push([`${prefix}ios.pem_cert_path`, ios.pem_cert_path], [`${prefix}ios.pem_key_path`, ios.pem_key_path]);
    } else {
      if (ios.token_auth_key_path === '') problems.push(`${prefix}ios.token_auth_key_path: required for token authentication`);
      if (!/^[A-Z0-9]{10}$/.test(ios.token_auth_key_id))
        problems.push(`${prefix}ios.token_auth_key_id: expected the 10-character key id from Apple`);
      if (!/^[A-Z0-9]{10}$/.test(ios.token_auth_team_id))
        problems.push(`${prefix}ios.token_auth_team_id: expected the 10-character team id from Apple`);
      files.push([`${prefix}ios.token_auth_key_path`, ios.token_auth_key_path]);
      if (ios.topic === '') problems.push(`${prefix}ios.topic: required with token authentication (the app bundle id)`);
    }
    files.push([`${prefix}ios.ca_path`, ios.ca_path]);
  }
  if (android.enabled) {
    if (android.service_account_path === '' && android.apikey === '') {
      problems.push(
        `${prefix}android.service_account_path: required (a Firebase service-account JSON file), or set android.enabled = false`,
      );
    }
    files.push([`${prefix}android.service_account_path`, android.service_account_path], [`${prefix}android.ca_path`, android.ca_path]);
  }
  for (const [name, path] of files) {
    if (path !== '' && !readable(path)) problems.push(`${name}: cannot read "${path}"`);
  }
  if (android.enabled && android.service_account_path !== '' && readable(android.service_account_path)) {
    try {
      const account = JSON.parse(readFileSync(android.service_account_path, 'utf8')) as Record<string, unknown>;
      for (const field of ['project_id', 'client_email', 'private_key']) {
        if (typeof account[field] !== 'string')
          problems.push(`${prefix}android.service_account_path: "${field}" missing in the service-account file`);
      }
    } catch (error) {
      problems.push(`${prefix}android.service_account_path: not JSON (${(error as Error).message})`);
    }
  }
}

/** The config path from `-c`/`--config`, else `PUSHGATE_CONFIG`. */
export function configPathFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' } },
    strict: false,
    allowPositionals: true,
  });
  return typeof values.config === 'string' ? values.config : env.PUSHGATE_CONFIG || undefined;
}

/** Where the running gateway reads its configuration: a reload reads the same file and environment again. */
export const CONFIG_SOURCE = Symbol('CONFIG_SOURCE');

/** The file and environment the process was started with. */
export function bootConfigSource(): ConfigSource {
  return { path: configPathFrom(process.argv.slice(2), process.env), env: process.env };
}

export const pushgateConfig = registerAs('pushgate', (): PushgateConfig => loadConfig(bootConfigSource()));
