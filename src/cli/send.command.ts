import { parseArgs } from 'node:util';
import { loadConfig, configPathFrom } from '../config/pushgate.config';
import { parsePlatform } from '../notification/notification.dto';
import { DirectSender } from './cli.module';
import { UsageError, validNotification } from './notification';

export const SEND_USAGE = `usage: pushgate send [-c pushgate.toml] -p ios|android -t TOKEN [-t TOKEN ...] -m MESSAGE [fields]
  Sends one notification through the gateway's clients and configuration and prints one JSON line per token:
  {"token","platform","status":"succeeded"|"failed","reason"}. Exit status 0 when every push succeeded, 1 otherwise.
  fields: --title --subtitle --badge N --category --sound --content-available --mutable-content --expiry S
          --push-type alert|background --identifier --collapse-key --time-to-live S --priority high|normal
          --delay-while-idle --extend KEY=VALUE (repeatable)
          --json '{...}'  a notification as in POST /push; the flags above override its fields`;

const STRING_FIELDS = ['message', 'identifier', 'title', 'subtitle', 'category', 'sound', 'push_type', 'collapse_key', 'priority'] as const;
const INT_FIELDS = ['badge', 'expiry', 'time_to_live'] as const;
const BOOL_FIELDS = ['content_available', 'mutable_content', 'delay_while_idle'] as const;

const flag = (field: string): string => field.replace(/_/g, '-');

function integer(value: string, name: string): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`--${name}: expected an integer, got "${value}"`);
  return Number(value);
}

/** The notification the arguments describe, as `POST /push` would receive it. */
export function notificationFromArgs(args: string[]): Record<string, unknown> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    config: { type: 'string', short: 'c' },
    platform: { type: 'string', short: 'p' },
    token: { type: 'string', short: 't', multiple: true },
    extend: { type: 'string', multiple: true },
    json: { type: 'string' },
  };
  for (const field of [...STRING_FIELDS, ...INT_FIELDS]) options[flag(field)] = { type: 'string' };
  options.message.short = 'm';
  for (const field of BOOL_FIELDS) options[flag(field)] = { type: 'boolean' };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let n: Record<string, unknown> = {};
  if (typeof values.json === 'string') {
    try {
      n = JSON.parse(values.json) as Record<string, unknown>;
    } catch {
      throw new UsageError('--json: not a JSON object');
    }
    if (typeof n !== 'object' || n === null || Array.isArray(n)) throw new UsageError('--json: not a JSON object');
  }
  if (values.platform !== undefined) {
    const platform = parsePlatform(String(values.platform));
    if (platform === undefined) throw new UsageError(`--platform: expected ios or android, got "${String(values.platform)}"`);
    n.platform = platform;
  }
  if (values.token) n.token = values.token;
  for (const field of STRING_FIELDS) if (typeof values[flag(field)] === 'string') n[field] = values[flag(field)];
  for (const field of INT_FIELDS)
    if (typeof values[flag(field)] === 'string') n[field] = integer(values[flag(field)] as string, flag(field));
  for (const field of BOOL_FIELDS) if (values[flag(field)] === true) n[field] = true;
  if (values.extend) {
    n.extend = (values.extend as string[]).map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--extend: expected KEY=VALUE, got "${pair}"`);
      return { key: pair.slice(0, at), val: pair.slice(at + 1) };
    });
  }
  if (n.platform === undefined) throw new UsageError('--platform is required');
  if (n.token === undefined) throw new UsageError('--token is required');
  n.message ??= '';
  return n;
}

export async function sendCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const plain = notificationFromArgs(args);
  const dto = validNotification(plain, loadConfig({ path: configPathFrom(args, process.env), env: process.env }));
  const sender = await DirectSender.open();
  try {
    const results = await sender.send(dto);
    for (const result of results) out.write(`${JSON.stringify(result)}\n`);
    return results.every((r) => r.status === 'succeeded') ? 0 : 1;
  } finally {
    await sender.close();
  }
}
