import { parseArgs } from 'node:util';
import { envName } from '../config/pushgate.config';
import { UsageError } from './notification';

export const SERVE_USAGE = `usage: pushgate [serve] [-c pushgate.toml] [-p PORT|unix:/PATH] [-w WORKERS] [-q QUEUE_SIZE] [-v]
  Runs the gateway (Gaurun's command line). The flags override the file and the environment.
  -c, --config FILE    configuration file (else PUSHGATE_CONFIG)
  -p, --port PORT      TCP port, or unix:/path (or /path) for a unix socket          (core.port)
  -w, --workers N      workers reading the queue; 0 keeps the configured number     (core.workers)
  -q, --queues N       queue capacity in pushes; 0 keeps the configured number      (core.queues)
  -v, --version        print the version and exit
  -h, --help           print this help and exit`;

/** Gaurun's flags, and the configuration keys they set. */
const OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  workers: { type: 'string', short: 'w' },
  queues: { type: 'string', short: 'q' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ServeArgs {
  readonly config?: string;
  /** `core.*` keys the flags set, by key. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly version: boolean;
  readonly help: boolean;
}

function count(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`-${flag}: expected a whole number, got "${value}"`);
  // Gaurun overrides the file only with a positive number.
  return Number(value) > 0 ? String(Number(value)) : undefined;
}

/** The server's arguments, strictly: an unknown flag or a stray argument is a {@link UsageError}. */
export function parseServeArgs(args: string[]): ServeArgs {
  let values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const overrides: Record<string, string> = {};
  if (values.port !== undefined) overrides.port = values.port.startsWith('/') ? `unix:${values.port}` : values.port;
  const workers = count(values.workers, 'w');
  if (workers !== undefined) overrides.workers = workers;
  const queues = count(values.queues, 'q');
  if (queues !== undefined) overrides.queues = queues;
  return { config: values.config, overrides, version: values.version === true, help: values.help === true };
}

/**
 * The variables that carry the flags into the configuration: it reads them as it reads any `PUSHGATE_*` key, over
 * the file, and a reload (SIGHUP) reads them again, so the flags stay in force.
 */
export function flagEnvironment(args: ServeArgs): Record<string, string> {
  const env: Record<string, string> = {};
  if (args.config !== undefined) env.PUSHGATE_CONFIG = args.config;
  for (const [key, value] of Object.entries(args.overrides)) env[envName('core', key)] = value;
  return env;
}
