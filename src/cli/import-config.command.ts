import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml, stringify } from 'smol-toml';
import { CONFIG_DEFAULTS } from '../config/pushgate.config';
import { CommandError, UsageError } from './notification';

export const IMPORT_CONFIG_USAGE = `usage: pushgate import-config --from gorush|gaurun FILE
  Prints the pushgate configuration (TOML) equivalent to a Gorush config.yml or a Gaurun gaurun.toml; every key that
  has no pushgate equivalent is listed on stderr with what to do instead. Exit status 0 when every key was mapped,
  1 when some were not (the TOML is printed all the same), 2 on a usage error or an unreadable file.`;

type Table = Record<string, unknown>;
/** pushgate's configuration as sections of keys, in the order they are printed. */
export type ImportedConfig = Record<string, Table>;

export interface Imported {
  readonly config: ImportedConfig;
  /** `key: why`, one per key that has no pushgate equivalent. */
  readonly unmapped: string[];
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf of a nested document as `a.b.c` and its value. */
function leaves(doc: Table, prefix = ''): [string, unknown][] {
  return Object.entries(doc).flatMap(([key, value]) =>
    isTable(value) ? leaves(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value] as [string, unknown]],
  );
}

/** A value that asks for something: set, true, non-zero, non-empty. */
function meaningful(value: unknown): boolean {
  return !(
    value === undefined ||
    value === null ||
    value === false ||
    value === '' ||
    value === 0 ||
    (Array.isArray(value) && value.length === 0)
  );
}

class Builder {
  readonly config: ImportedConfig = {};
  readonly unmapped: string[] = [];

  set(section: string, key: string, value: unknown): void {
    (this.config[section] ??= {})[key] = value;
  }

  refuse(key: string, why: string): void {
    this.unmapped.push(`${key}: ${why}`);
  }
}

const GORUSH_API_DEFAULTS: Record<string, string> = {
  push_uri: '/api/push',
  stat_go_uri: '/api/stat/go',
  stat_app_uri: '/api/stat/app',
  config_uri: '/api/config',
  sys_stat_uri: '/sys/stats',
  metric_uri: '/metrics',
  health_uri: '/healthz',
};

/** Sections whose keys only matter when their `enabled` is true, and why pushgate has none. */
const GORUSH_OPTIONAL_SECTIONS: Record<string, string> = {
  'core.pid': 'pushgate writes a pid file only when core.pid names one',
  'core.auto_tls': "pushgate serves plain HTTP: terminate TLS (Let's Encrypt) in front of it",
  grpc: 'pushgate has no gRPC API; use POST /api/push or POST /push',
  huawei: 'pushgate does not send to Huawei Push Kit',
};

/**
 * A Gorush `config.yml` (`appleboy/gorush`, `config/config.go`) as pushgate keys. Gorush's defaults that mean
 * "automatic" (0 workers, 0 queue size) are left to pushgate's own defaults.
 */
export function fromGorush(doc: unknown): Imported {
  if (!isTable(doc)) throw new CommandError('not a Gorush configuration: expected a YAML mapping');
  const b = new Builder();
  const handled = new Set<string>();
  const at = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (isTable(v) ? v[k] : undefined), doc);
  const take = (path: string, map: (value: unknown) => void): void => {
    handled.add(path);
    const value = at(path);
    if (value !== undefined && value !== null) map(value);
  };

  for (const [section, why] of Object.entries(GORUSH_OPTIONAL_SECTIONS)) {
    const table = at(section);
    if (!isTable(table)) continue;
    for (const [key, value] of leaves(table, `${section}.`)) {
      handled.add(key);
      if (section === 'core.pid') continue;
      if (table.enabled === true && !key.endsWith('.enabled') && meaningful(value)) b.refuse(key, why);
    }
    if (table.enabled === true && section !== 'core.pid') b.refuse(`${section}.enabled`, why);
  }
  const pid = at('core.pid');
  if (isTable(pid) && pid.enabled === true && typeof pid.path === 'string') b.set('core', 'pid', pid.path);

  take('core.port', (v) => b.set('core', 'port', String(v)));
  take('core.worker_num', (v) => meaningful(v) && b.set('core', 'workers', v));
  take('core.queue_num', (v) => meaningful(v) && b.set('core', 'queues', v));
  take('core.max_notification', (v) => b.set('core', 'notification_max', v));
  take('core.shutdown_timeout', (v) => b.set('core', 'shutdown_timeout', v));
  take('core.sync', (v) => b.set('gorush', 'sync', v));
  take(
    'core.address',
    (v) =>
      meaningful(v) &&
      b.refuse('core.address', 'pushgate listens on every address; bind it with the container or a unix socket (core.port = "unix:/path")'),
  );
  take('core.enabled', (v) => v === false && b.refuse('core.enabled', 'pushgate always serves HTTP'));
  take('core.mode', () => undefined);
  take(
    'core.feedback_hook_url',
    (v) =>
      meaningful(v) &&
      b.refuse(
        'core.feedback_hook_url',
        "pushgate posts invalid tokens, signed, to feedback.webhook_url (with feedback.webhook_secret); failures are in ?wait=true answers, sync mode's logs and GET /push/{id}",
      ),
  );
  for (const key of ['core.feedback_timeout', 'core.feedback_header']) {
    take(key, (v) => meaningful(at('core.feedback_hook_url')) && meaningful(v) && b.refuse(key, 'see core.feedback_hook_url'));
  }
  for (const key of ['core.ssl', 'core.cert_path', 'core.key_path', 'core.cert_base64', 'core.key_base64']) {
    take(key, (v) => at('core.ssl') === true && meaningful(v) && b.refuse(key, 'pushgate serves plain HTTP: terminate TLS in front of it'));
  }
  take(
    'core.http_proxy',
    (v) =>
      meaningful(v) &&
      b.refuse(
        'core.http_proxy',
        'pushgate connects to APNs and FCM directly (ios.endpoint / android.endpoint only redirect to a compatible server)',
      ),
  );

  for (const [key, value] of Object.entries(isTable(doc.api) ? doc.api : {})) {
    handled.add(`api.${key}`);
    const path = GORUSH_API_DEFAULTS[key];
    if (value !== path)
      b.refuse(`api.${key}`, typeof path === 'string' ? `pushgate serves it at ${path} only` : 'pushgate has no such route');
  }

  take('ios.enabled', (v) => b.set('ios', 'enabled', v));
  take('ios.key_path', (v) => {
    if (!meaningful(v)) return;
    const path = String(v);
    switch (extname(path).toLowerCase()) {
      case '.p8':
        b.set('ios', 'token_auth_key_path', path);
        break;
      case '.pem':
        // Gorush reads certificate and key from one PEM file; pushgate reads each block from the file it is given.
        b.set('ios', 'pem_cert_path', path);
        b.set('ios', 'pem_key_path', path);
        break;
      default:
        b.refuse(
          'ios.key_path',
          'pushgate reads a .p8 key or PEM files: convert a .p12 with `openssl pkcs12 -in key.p12 -out key.pem -nodes`',
        );
    }
  });
  take(
    'ios.key_base64',
    (v) =>
      meaningful(v) &&
      b.refuse('ios.key_base64', 'pushgate reads keys from files: decode it into a file and set ios.key_path here, then import again'),
  );
  take('ios.key_type', () => undefined);
  take('ios.password', (v) => meaningful(v) && b.set('ios', 'pem_key_passphrase', v));
  take('ios.production', (v) => b.set('ios', 'sandbox', v !== true));
  take('ios.max_retry', (v) => b.set('ios', 'retry_max', v));
  take('ios.key_id', (v) => meaningful(v) && b.set('ios', 'token_auth_key_id', v));
  take('ios.team_id', (v) => meaningful(v) && b.set('ios', 'token_auth_team_id', v));
  take(
    'ios.max_concurrent_pushes',
    // 100 is Gorush's default: only a figure someone chose is worth a note.
    (v) =>
      meaningful(v) &&
      v !== 100 &&
      b.refuse(
        'ios.max_concurrent_pushes',
        'pushgate bounds all sends together (core.workers x (core.pusher_max + 1)) and per app (apps.<name>.in_flight_max)',
      ),
  );
  if (at('ios.enabled') === true && typeof at('ios.key_path') === 'string' && extname(String(at('ios.key_path'))) === '.p8') {
    b.refuse(
      'ios.topic',
      'Gorush takes the topic from each request; pushgate needs the bundle id as ios.topic (and the other topics clients send in ios.topics)',
    );
  }

  take('android.enabled', (v) => b.set('android', 'enabled', v));
  take('android.key_path', (v) => meaningful(v) && b.set('android', 'service_account_path', v));
  take(
    'android.credential',
    (v) =>
      meaningful(v) &&
      b.refuse(
        'android.credential',
        'pushgate reads the service account from a file: write the JSON to a file and set android.service_account_path',
      ),
  );
  take('android.max_retry', (v) => b.set('android', 'retry_max', v));

  take('queue.engine', (v) => {
    if (v === 'local') b.set('queue', 'backend', 'memory');
    else if (v === 'redis') b.set('queue', 'backend', 'redis');
    else b.refuse('queue.engine', `pushgate queues in memory or in Redis Streams, not in ${String(v)}`);
  });
  const redisQueue = at('queue.engine') === 'redis';
  for (const [key, value] of leaves(isTable(at('queue')) ? (at('queue') as Table) : {}, 'queue.')) {
    if (key === 'queue.engine') continue;
    handled.add(key);
    if (!redisQueue || !key.startsWith('queue.redis.')) continue;
    const name = key.slice('queue.redis.'.length);
    if (name === 'addr') b.set('queue', 'redis_url', `redis://${String(value)}`);
    else if (name === 'username' || name === 'password') {
      if (meaningful(value)) b.set('queue', `redis_${name}`, value);
    } else if (name === 'with_tls') b.set('queue', 'redis_tls', value === true);
    else if (name === 'stream_name') b.set('queue', 'redis_prefix', value);
    else if (meaningful(value)) b.refuse(key, 'pushgate names its consumer group and consumers itself');
  }

  take('log.access_log', (v) => b.set('log', 'access_log', v));
  take('log.error_log', (v) => b.set('log', 'error_log', v));
  take('log.error_level', (v) => b.set('log', 'level', v));
  take('log.access_level', () => undefined);
  take('log.format', (v) => v === 'string' && b.refuse('log.format', 'pushgate writes JSON lines'));
  take('log.hide_token', (v) => b.set('core', 'log_full_token', v === false));
  take('log.hide_messages', (v) => v === true && b.refuse('log.hide_messages', 'pushgate writes the message in its push log lines'));

  const stat = at('stat');
  if (isTable(stat)) {
    for (const [key] of leaves(stat, 'stat.')) handled.add(key);
    if (stat.engine !== undefined && stat.engine !== 'memory') {
      b.refuse('stat.engine', 'pushgate keeps counters in memory per replica; /metrics is the durable record (Prometheus)');
    }
  }

  for (const [key] of leaves(doc)) if (!handled.has(key)) b.refuse(key, 'unknown to the importer');
  return b;
}

/** Gaurun keys pushgate reads under the same name, and what it says about those it does not. */
const GAURUN_REFUSED: Record<string, string> = {
  'android.apikey': 'the legacy FCM key no longer works: set android.service_account_path to a service-account JSON file',
};

/**
 * A Gaurun `gaurun.toml`: pushgate reads Gaurun's keys under the same names, so every key it knows passes as it is
 * and the others are listed.
 */
export function fromGaurun(doc: unknown): Imported {
  if (!isTable(doc)) throw new CommandError('not a Gaurun configuration');
  const b = new Builder();
  const known = CONFIG_DEFAULTS as unknown as Record<string, Table>;
  for (const [key, value] of leaves(doc)) {
    const [section, name, ...rest] = key.split('.');
    if (key in GAURUN_REFUSED) {
      if (meaningful(value)) b.refuse(key, GAURUN_REFUSED[key]);
    } else if (rest.length === 0 && name !== undefined && section in known && name in known[section]) {
      b.set(section, name, value);
    } else {
      b.refuse(key, 'pushgate has no such key');
    }
  }
  return b;
}

/** The TOML text: sections in pushgate's order, with a first line naming where it came from. */
export function importedToml(imported: Imported, from: string, file: string): string {
  const order = Object.keys(CONFIG_DEFAULTS);
  const sections = Object.entries(imported.config).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  return `# pushgate configuration imported from ${from} ${file}\n\n${stringify(Object.fromEntries(sections))}\n`;
}

/** Loaded for `--from gorush` only, so that the other commands start without the YAML parser. */
async function parseYaml(text: string): Promise<unknown> {
  const { parse } = await import('yaml');
  return parse(text) as unknown;
}

export async function importConfigCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let from: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--from') from = args[++i];
    else if (arg.startsWith('--from=')) from = arg.slice('--from='.length);
    else if (arg.startsWith('-')) throw new UsageError(`unknown flag ${arg}`);
    else files.push(arg);
  }
  if (from !== 'gorush' && from !== 'gaurun') throw new UsageError('--from must be gorush or gaurun');
  if (files.length !== 1) throw new UsageError('name one configuration file');
  const [file] = files;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CommandError(`${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = from === 'gorush' ? await parseYaml(text) : parseToml(text);
  } catch (error) {
    throw new CommandError(`${file}: not valid ${from === 'gorush' ? 'YAML' : 'TOML'}: ${(error as Error).message.split('\n')[0]}`);
  }
  const imported = from === 'gorush' ? fromGorush(doc) : fromGaurun(doc);
  out.write(importedToml(imported, from, file));
  for (const line of imported.unmapped) err.write(`pushgate: not mapped: ${line}\n`);
  return imported.unmapped.length > 0 ? 1 : 0;
}
