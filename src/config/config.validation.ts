import { accessSync, constants, readFileSync } from 'node:fs';
import { APP_DEFAULTS, DEFAULT_APP, PUSHER_MAX_LIMIT, type AppConfig, type ConfigSections, type QueueConfig } from './config.schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

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
  'core.memory_budget': [0, 2 ** 40],
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

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the merged sections: every integer in its range, and the rules between keys. Normalises `log.level` to
 * pino's name.
 */
export function validateSections(config: ConfigSections, problems: string[], env: NodeJS.ProcessEnv): void {
  const tables = config as unknown as Record<string, Record<string, number>>;
  for (const [name, [min, max]] of Object.entries(INT_RANGES)) {
    const [section, key] = name.split('.');
    if (!(section in tables)) continue;
    const value = tables[section][key];
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
}

/**
 * The apps served: the default one (from `[ios]` / `[android]`) and the named ones, each checked; and whether the
 * embedded simulator stands in for APNs and FCM because nothing has credentials.
 */
export function resolveApps(
  config: ConfigSections,
  named: Record<string, AppConfig>,
  problems: string[],
): { apps: Record<string, AppConfig>; simulator: boolean } {
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
  return { apps, simulator };
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
