import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import {
  APP_DEFAULTS,
  appEnvName,
  CONFIG_DEFAULTS,
  DEFAULT_APP,
  envName,
  type AppConfig,
  type ConfigSections,
  type ConfigSource,
  type PushgateConfig,
  type Scalar,
} from './config.schema';
import { ConfigError, resolveApps, validateSections } from './config.validation';

/** App names as they appear in keys, environment variables, metrics labels and log lines. */
const APP_NAME = /^[a-z0-9]+(_[a-z0-9]+)*$/;

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

  const config = merged as unknown as ConfigSections;
  validateSections(config, problems, env);
  const { apps, simulator } = resolveApps(config, named, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, apps, simulator, unknown_keys: unknown };
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
