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
  /** Seconds a client may take to send the request headers. */
  header_timeout: number;
  /** Seconds a client may take to send the whole request. */
  request_timeout: number;
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
}

/** Access control for the HTTP API. */
export interface AuthConfig {
  api_keys: string;
  api_keys_path: string;
  /** Require a key for `/stat/*` and `/metrics` too. */
  protect_stats: boolean;
  /** Requests per second per key (per client address without keys); 0 = no limit. */
  rate_limit: number;
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

export interface LogConfig {
  access_log: string;
  error_log: string;
  level: string;
}

export interface PushgateConfig {
  core: CoreConfig;
  ios: IosConfig;
  android: AndroidConfig;
  queue: QueueConfig;
  auth: AuthConfig;
  feedback: FeedbackConfig;
  log: LogConfig;
  /** True when no provider credentials are configured: the embedded simulator stands in for APNs and FCM. */
  simulator: boolean;
  /** Keys found in the file that pushgate does not know (Gaurun leftovers or typos), reported at boot. */
  unknown_keys: string[];
}

type Sections = Omit<PushgateConfig, 'simulator' | 'unknown_keys'>;

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
    header_timeout: 20,
    request_timeout: 60,
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
  },
  auth: {
    api_keys: '',
    api_keys_path: '',
    protect_stats: false,
    rate_limit: 0,
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
  log: {
    access_log: 'stdout',
    error_log: 'stderr',
    level: 'error',
  },
};

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Integer keys and their allowed range. */
const INT_RANGES: Record<string, [number, number]> = {
  'core.workers': [1, 1024],
  'core.queues': [1, 100_000_000],
  'core.notification_max': [1, 100_000],
  'core.token_max': [1, 1_000_000],
  'core.body_limit': [1024, 1024 * 1024 * 1024],
  'core.pusher_max': [0, 100_000],
  'core.shutdown_timeout': [0, 3600],
  'core.shutdown_delay': [0, 3600],
  'core.header_timeout': [1, 3600],
  'core.request_timeout': [1, 3600],
  'auth.rate_limit': [0, 1_000_000],
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
  'feedback.batch_size': [1, 10_000],
  'feedback.flush_interval': [1, 3600],
  'feedback.buffer_size': [1, 10_000_000],
  'feedback.history_size': [0, 1_000_000],
  'feedback.timeout': [1, 600],
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

function coerce(raw: unknown, like: Scalar, name: string, problems: string[]): Scalar | undefined {
  if (typeof like === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string' && /^(true|false|1|0)$/i.test(raw.trim())) {
      return /^(true|1)$/i.test(raw.trim());
    }
    problems.push(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  if (typeof like === 'number') {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'bigint') return Number(value);
    problems.push(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  if (typeof raw === 'string') return raw;
  // Gaurun configs often write ports as numbers: `port = 1056`.
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  problems.push(`${name}: expected a string, got ${JSON.stringify(raw)}`);
  return undefined;
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
    try {
      file = parseToml(readFileSync(source.path, 'utf8'));
    } catch (error) {
      throw new ConfigError([`${source.path}: ${(error as Error).message}`]);
    }
  }

  const merged = structuredClone(CONFIG_DEFAULTS) as unknown as Record<string, Record<string, Scalar>>;
  for (const [section, values] of Object.entries(file)) {
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
  const env = source.env ?? {};
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
    if (config.feedback.webhook_secret === '') problems.push('feedback.webhook_secret: required with feedback.webhook_url (the HMAC key that signs each POST)');
  }
  if (!['memory', 'redis'].includes(config.queue.backend)) problems.push(`queue.backend: "${config.queue.backend}" is neither memory nor redis`);
  if (config.queue.backend === 'redis' && !/^rediss?:\/\//.test(config.queue.redis_url)) {
    problems.push('queue.redis_url: required with queue.backend = "redis" (redis://[:password@]host:port[/db] or rediss:// for TLS)');
  }
  if (config.queue.redis_ca_path !== '' && !readable(config.queue.redis_ca_path)) problems.push(`queue.redis_ca_path: cannot read "${config.queue.redis_ca_path}"`);
  if (!LOG_LEVELS.includes(config.log.level)) {
    problems.push(`log.level: "${config.log.level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  if (config.core.header_timeout > config.core.request_timeout) {
    problems.push(`core.header_timeout: ${config.core.header_timeout} is longer than core.request_timeout (${config.core.request_timeout})`);
  }
  if (config.auth.api_keys_path !== '' && !readable(config.auth.api_keys_path)) {
    problems.push(`auth.api_keys_path: cannot read "${config.auth.api_keys_path}"`);
  }
  const simulator = validateCredentials(config, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, simulator, unknown_keys: unknown };
}

/** Returns true when no credentials are configured at all, which selects the embedded simulator. */
function validateCredentials(config: Sections, problems: string[]): boolean {
  const { ios, android } = config;
  if (!ios.enabled && !android.enabled) problems.push('ios.enabled and android.enabled are both false: nothing to push to');
  if (android.enabled && android.apikey !== '') {
    problems.push(
      'android.apikey: the legacy FCM server key stopped working when Google shut the legacy API down in 2024; ' +
        'remove it and set android.service_account_path to a Firebase service-account JSON file (FCM HTTP v1)',
    );
  }
  const certAuth = ios.pem_cert_path !== '' || ios.pem_key_path !== '';
  const tokenAuth = ios.token_auth_key_path !== '' || ios.token_auth_key_id !== '' || ios.token_auth_team_id !== '';
  const iosCredentials = ios.enabled && (certAuth || tokenAuth);
  const androidCredentials = android.enabled && android.service_account_path !== '';
  if (!iosCredentials && !androidCredentials && android.apikey === '') return true;

  const files: [string, string][] = [];
  if (ios.enabled) {
    if (certAuth && tokenAuth) {
      problems.push('ios: both certificate (pem_*) and token (token_auth_*) authentication are configured; choose one');
    } else if (!certAuth && !tokenAuth) {
      problems.push('ios: no credentials; set pem_cert_path and pem_key_path, or token_auth_key_path, token_auth_key_id and token_auth_team_id, or set ios.enabled = false');
    } else if (certAuth) {
      if (ios.pem_cert_path === '') problems.push('ios.pem_cert_path: required with ios.pem_key_path');
      if (ios.pem_key_path === '') problems.push('ios.pem_key_path: required with ios.pem_cert_path');
      files.push(['ios.pem_cert_path', ios.pem_cert_path], ['ios.pem_key_path', ios.pem_key_path]);
    } else {
      if (ios.token_auth_key_path === '') problems.push('ios.token_auth_key_path: required for token authentication');
      if (!/^[A-Z0-9]{10}$/.test(ios.token_auth_key_id)) problems.push('ios.token_auth_key_id: expected the 10-character key id from Apple');
      if (!/^[A-Z0-9]{10}$/.test(ios.token_auth_team_id)) problems.push('ios.token_auth_team_id: expected the 10-character team id from Apple');
      files.push(['ios.token_auth_key_path', ios.token_auth_key_path]);
      if (ios.topic === '') problems.push('ios.topic: required with token authentication (the app bundle id)');
    }
    files.push(['ios.ca_path', ios.ca_path]);
  }
  if (android.enabled) {
    if (android.service_account_path === '' && android.apikey === '') {
      problems.push('android.service_account_path: required (a Firebase service-account JSON file), or set android.enabled = false');
    }
    files.push(['android.service_account_path', android.service_account_path], ['android.ca_path', android.ca_path]);
  }
  for (const [name, path] of files) {
    if (path !== '' && !readable(path)) problems.push(`${name}: cannot read "${path}"`);
  }
  if (android.enabled && android.service_account_path !== '' && readable(android.service_account_path)) {
    try {
      const account = JSON.parse(readFileSync(android.service_account_path, 'utf8')) as Record<string, unknown>;
      for (const field of ['project_id', 'client_email', 'private_key']) {
        if (typeof account[field] !== 'string') problems.push(`android.service_account_path: "${field}" missing in the service-account file`);
      }
    } catch (error) {
      problems.push(`android.service_account_path: not JSON (${(error as Error).message})`);
    }
  }
  return false;
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

export const pushgateConfig = registerAs(
  'pushgate',
  (): PushgateConfig => loadConfig({ path: configPathFrom(process.argv.slice(2), process.env), env: process.env }),
);
