import { stringify } from 'smol-toml';
import { ConfigError, DEFAULT_APP, loadConfig, type PushgateConfig } from '../config/pushgate.config';
import { flagEnvironment, parseServeArgs } from './serve.args';
import { startProblems } from './start.checks';
import { VERSION, versionText } from '../version';

export const CHECK_CONFIG_USAGE = `usage: pushgate check-config [-c pushgate.toml] [-p PORT] [-w WORKERS] [-q QUEUE_SIZE]
  Checks what the start checks (the file, the environment, the flags, credential files readable, the pid file's
  directory, the unix socket path) without starting anything, then prints the effective configuration as TOML with
  its secrets redacted (passphrases, API keys, secrets, passwords in URLs).
  Exit status 0 when the gateway would start with it, 1 when not (every problem is listed), 2 on a usage error.`;

/** What replaces a secret in the printed configuration. */
export const REDACTED = '<redacted>';

const SECRET_KEY = /(passphrase|secret|password|apikey|api_keys?)$/;

/** A URL's password (`redis://:password@host`), replaced; anything else unchanged. */
function withoutPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value) || !URL.canParse(value)) return value;
  const url = new URL(value);
  if (url.password === '') return value;
  url.password = REDACTED;
  return url.toString();
}

function redact(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return value !== '' && SECRET_KEY.test(key) ? REDACTED : withoutPassword(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
}

/** The configuration as a file would write it: its sections, then the named apps; secrets redacted. */
export function effectiveConfig(config: PushgateConfig): Record<string, unknown> {
  const { apps, simulator: _simulator, unknown_keys: _unknown, ...sections } = config;
  const named = Object.fromEntries(Object.entries(apps).filter(([name]) => name !== DEFAULT_APP));
  return redact(Object.keys(named).length > 0 ? { ...sections, apps: named } : sections) as Record<string, unknown>;
}

export function checkConfigCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const parsed = parseServeArgs(args);
  if (parsed.version) {
    out.write(versionText());
    return 0;
  }
  const path = parsed.config ?? (process.env.PUSHGATE_CONFIG || undefined);
  let config: PushgateConfig;
  try {
    config = loadConfig({ path, env: { ...process.env, ...flagEnvironment(parsed) } });
    const problems = startProblems(config);
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err.write(`pushgate: ${path ?? 'the configuration'}: ${error.message}\n`);
    return 1;
  }
  const notes = [`# pushgate ${VERSION}: ${path ?? 'defaults and environment'} is valid; the effective configuration follows`];
  if (config.unknown_keys.length > 0) notes.push(`# ignored unknown keys: ${config.unknown_keys.join(', ')}`);
  if (config.simulator) notes.push('# no provider credentials: pushes would go to the embedded APNs/FCM simulator');
  out.write(`${notes.join('\n')}\n\n${stringify(effectiveConfig(config))}\n`);
  return 0;
}
