import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ExponentialBackoff, handleWhenResult, retry } from 'cockatiel';
import { CONFIG_DEFAULTS, configPathFrom, loadConfig, type PushgateConfig } from '../config/pushgate.config';
import { type PushResultDto } from '../push/push.dto';
import { PLATFORMS } from '../notification/notification.dto';
import { LOGGED_FIELDS } from '../push/push.log';
import { DirectSender } from './cli.module';
import { CommandError, UsageError, validNotification } from './notification';

export const RECOVER_USAGE = `usage: pushgate recover [-c pushgate.toml] [--gateway http://host:port] [--dry-run]
                        [--also-failed REASON,...] [--include-unknown] ACCESS_LOG...
  Reads access logs (oldest first; rotated files too), finds the pushes that were accepted and never finished
  (no succeeded-push or failed-push line, or failed-push with reason Shutdown) and sends them again with every
  field, through a running gateway (--gateway; PUSHGATE_API_KEY is sent as a bearer key) or directly through the
  configured clients. Prints one JSON line per push: {"id","token","platform","status","reason"}.
  Needs whole tokens in the log: core.log_full_token = true.
  Gaurun's access logs are read too (numeric ids, as gaurun_recover read them): each restart of Gaurun numbers its
  pushes from 1 again, so their lines say which run of the files they belong to ("run": 1, 2, ...). Gaurun's times
  name their zone (2006/01/02 15:04:05 MST); an abbreviation other than UTC or GMT is read in the local time
  zone: run with TZ set to the Gaurun server's zone. A file with no line of either log is an error.
  --also-failed  also re-send pushes that failed with these reasons (e.g. Timeout,ConnectionError)
  --include-unknown
                 also re-send pushes whose send was unanswered when the gateway stopped (failed-push with reason
                 ShutdownInFlight): the provider may have delivered them, so they may arrive twice
  --dry-run      print the pushes that would be sent, send nothing
  Exit status 0 when every push was re-sent and succeeded, 1 when some failed, 2 on a usage or log problem.`;

/** Pushes a recovery request carries at most, so that each wait for results stays short. */
const PUSHES_PER_REQUEST = 1000;

/** One unfinished push, as its accepted-push line describes it. */
export interface UnfinishedPush {
  /** The push's id in its log: pushgate's string, or Gaurun's number. */
  readonly id: string | number;
  /** For Gaurun's numeric ids, which run of Gaurun (counted from 1 in the files read) gave it. */
  readonly run?: number;
  readonly token: string;
  /** When it was accepted (ms since the epoch), when the line says. */
  readonly acceptedAt?: number;
  readonly line: Record<string, unknown>;
}

/** How a push ended that was re-sent (or why it was not). */
export interface RecoveredPush extends Omit<PushResultDto, 'status'> {
  readonly id: string | number;
  readonly run?: number;
  readonly status: PushResultDto['status'] | 'expired' | 'unsent';
}

const PUSH_TYPES = new Set(['accepted-push', 'succeeded-push', 'failed-push', 'disabled-push']);

/** The reason of a push that was sent and unanswered when the gateway stopped: delivered or not, nobody knows. */
export const UNKNOWN_FATE_REASON = 'ShutdownInFlight';

/** Gaurun's (zap's) time layout, Go's `2006/01/02 15:04:05 MST`. */
const GAURUN_TIME = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d) (\S+)$/;

/**
 * A Gaurun log time in ms since the epoch. Go writes the zone's abbreviation, or its offset when the zone has none
 * (`+09`, `-0330`); abbreviations other than UTC and GMT are ambiguous (IST, CST) and are read in the local time zone.
 */
export function gaurunTime(text: string): number | undefined {
  const match = GAURUN_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, zone] = match;
  const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const;
  if (/^(UTC|GMT|Z)$/i.test(zone)) return Date.UTC(...fields);
  const offset = /^([+-])(\d\d)(\d\d)?$/.exec(zone);
  if (offset) {
    const minutes = (Number(offset[2]) * 60 + Number(offset[3] ?? 0)) * (offset[1] === '-' ? -1 : 1);
    return Date.UTC(...fields) - minutes * 60_000;
  }
  return new Date(...fields).getTime();
}

function acceptedAt(time: unknown): number | undefined {
  if (typeof time !== 'string') return undefined;
  const at = gaurunTime(time) ?? Date.parse(time);
  return Number.isNaN(at) ? undefined : at;
}

/** Counts Gaurun's runs: each start numbers pushes from 1 again, so a 1 or an id seen before begins a new run. */
class GaurunRuns {
  run = 1;
  private seen = new Set<number>();

  /** The run an accepted-push line with this id belongs to. */
  accepted(id: number): number {
    if (this.seen.size > 0 && (id === 1 || this.seen.has(id))) {
      this.run += 1;
      this.seen = new Set();
    }
    this.seen.add(id);
    return this.run;
  }
}

/** What `maskToken` makes of a token: such a line cannot be re-sent. */
export function isMaskedToken(token: string): boolean {
  return /^\*+$/.test(token) || /^.{8}\.\.\..{4}$/.test(token);
}

/**
 * The pushes of these logs that were accepted and never finished, in acceptance order. A push counts as finished
 * with its `succeeded-push` line, or a `failed-push` line unless its reason is `Shutdown` (what a stopping gateway
 * could not send) or one of `alsoFailed`. Reads pushgate's lines and Gaurun's; throws a {@link CommandError} naming a
 * file that holds neither. `unknown` is called for each push left out because its fate is unknown
 * ({@link UNKNOWN_FATE_REASON}, unless it is in `alsoFailed`).
 */
export async function unfinishedPushes(
  paths: string[],
  alsoFailed: ReadonlySet<string> = new Set(),
  unknown?: (id: string | number) => void,
): Promise<UnfinishedPush[]> {
  const accepted = new Map<string, UnfinishedPush>();
  const finishedEarly = new Set<string>();
  const runs = new GaurunRuns();
  for (const path of paths) {
    let understood = 0;
    let read = 0;
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text.trim() === '') continue;
      read += 1;
      if (!text.includes('"type"')) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const { type, id } = line;
      if (type === 'accepted-request') understood += 1;
      if (typeof type !== 'string' || !PUSH_TYPES.has(type) || (typeof id !== 'string' && typeof id !== 'number')) continue;
      understood += 1;
      const gaurun = typeof id === 'number';
      const run = gaurun && type === 'accepted-push' ? runs.accepted(id) : gaurun ? runs.run : undefined;
      const key = gaurun ? `${run}:${id}` : id;
      if (type === 'accepted-push') {
        if (!finishedEarly.delete(key)) accepted.set(key, { id, run, token: String(line.token), acceptedAt: acceptedAt(line.time), line });
      } else if (
        type === 'succeeded-push' ||
        (type === 'failed-push' && line.error !== 'Shutdown' && !alsoFailed.has(String(line.error)))
      ) {
        if (!accepted.delete(key)) finishedEarly.add(key);
        else if (line.error === UNKNOWN_FATE_REASON) unknown?.(id);
      }
    }
    if (understood === 0) {
      throw new CommandError(
        read === 0
          ? `${path} is empty: nothing to recover from it`
          : `${path} holds no line of a pushgate or Gaurun access log (JSON lines of type accepted-request, accepted-push, ` +
              'succeeded-push or failed-push): is it the access log?',
      );
    }
  }
  return [...accepted.values()];
}

/**
 * The pushes that were one notification: pushgate's ids share the prefix `<boot id>-<n>-`. Gaurun's numbers say
 * nothing of it, so its pushes of one run accepted in the same second with the same fields are sent together.
 */
function notificationKey(push: UnfinishedPush): string {
  if (typeof push.id === 'string') return push.id.slice(0, push.id.lastIndexOf('-') + 1);
  const fields = LOGGED_FIELDS.map((field) => push.line[field]);
  return JSON.stringify([push.run, push.line.time, push.line.platform, fields]);
}

interface Group {
  readonly notification: Record<string, unknown>;
  readonly pushes: UnfinishedPush[];
}

/**
 * The notifications to send again: one per original notification, with every field its lines carry, and `expiry`
 * shortened by the time since acceptance (pushes whose expiry has passed are left out, reported as expired).
 */
export function regroup(pushes: UnfinishedPush[], now = Date.now()): { groups: Group[]; expired: UnfinishedPush[] } {
  const groups = new Map<string, Group>();
  const expired: UnfinishedPush[] = [];
  for (const push of pushes) {
    const { line } = push;
    let expiry = typeof line.expiry === 'number' ? line.expiry : undefined;
    if (expiry !== undefined && push.acceptedAt !== undefined) {
      expiry -= Math.max(0, Math.floor((now - push.acceptedAt) / 1000));
      if (expiry <= 0) {
        expired.push(push);
        continue;
      }
    }
    const key = notificationKey(push);
    let group = groups.get(key);
    if (!group) {
      const notification: Record<string, unknown> = { platform: PLATFORMS[platformName(push)], message: '' };
      for (const field of LOGGED_FIELDS) if (line[field] !== undefined) notification[field] = line[field];
      if (expiry !== undefined) notification.expiry = expiry;
      group = { notification, pushes: [] };
      groups.set(key, group);
    }
    group.pushes.push(push);
  }
  return { groups: [...groups.values()], expired };
}

/** Splits groups into requests within the gateway's limits: notifications, tokens each, pushes in all. */
function* requests(groups: Group[], config: PushgateConfig): Generator<Group[]> {
  const { notification_max, token_max } = config.core;
  const pieces: Group[] = [];
  for (const group of groups) {
    for (let i = 0; i < group.pushes.length; i += token_max) pieces.push({ ...group, pushes: group.pushes.slice(i, i + token_max) });
  }
  let batch: Group[] = [];
  let size = 0;
  for (const piece of pieces) {
    if (batch.length > 0 && (batch.length >= notification_max || size + piece.pushes.length > PUSHES_PER_REQUEST)) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(piece);
    size += piece.pushes.length;
  }
  if (batch.length > 0) yield batch;
}

const dtoOf = (group: Group): Record<string, unknown> => ({ ...group.notification, token: group.pushes.map((p) => p.token) });

/** How a push is named in the output: its id, and its run for Gaurun's. */
const idOf = (p: UnfinishedPush): Pick<RecoveredPush, 'id' | 'run'> => (p.run === undefined ? { id: p.id } : { id: p.id, run: p.run });

/** POSTs each request to a running gateway, waiting for its results; a full queue (503) is retried with backoff. */
async function viaGateway(gateway: string, batches: Iterable<Group[]>, report: (r: RecoveredPush) => void): Promise<void> {
  const url = new URL('/push?wait=true&timeout=60', gateway);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (process.env.PUSHGATE_API_KEY) headers.authorization = `Bearer ${process.env.PUSHGATE_API_KEY}`;
  const policy = retry(
    handleWhenResult((r) => (r as Response).status === 503),
    { maxAttempts: 10, backoff: new ExponentialBackoff({ initialDelay: 1000, maxDelay: 30_000 }) },
  );
  for (const batch of batches) {
    const body = JSON.stringify({ notifications: batch.map(dtoOf) });
    const res = await policy.execute(() => fetch(url, { method: 'POST', headers, body }));
    const answer = (await res.json().catch(() => ({}))) as { message?: string; results?: PushResultDto[] };
    const pushes = batch.flatMap((g) => g.pushes);
    if (res.status !== 200 || !Array.isArray(answer.results)) {
      for (const p of pushes)
        report({ ...idOf(p), token: p.token, platform: platformName(p), status: 'unsent', reason: answer.message ?? `HTTP ${res.status}` });
      throw new CommandError(`the gateway answered ${res.status}: ${answer.message ?? ''}`.trim());
    }
    answer.results.forEach((result, i) => report({ ...idOf(pushes[i]), ...result }));
  }
}

async function direct(config: PushgateConfig, batches: Iterable<Group[]>, report: (r: RecoveredPush) => void): Promise<void> {
  const sender = await DirectSender.open();
  try {
    for (const batch of batches) {
      await Promise.all(
        batch.map(async (group) => {
          const results = await sender.send(validNotification(dtoOf(group), config));
          results.forEach((result, i) => report({ ...idOf(group.pushes[i]), ...result }));
        }),
      );
    }
  } finally {
    await sender.close();
  }
}

/** Gaurun's `fcmv1` pushes go through pushgate's FCM v1 client, as `android` ones do. */
const platformName = (p: UnfinishedPush): 'ios' | 'android' => (p.line.platform === 'ios' ? 'ios' : 'android');

export async function recoverCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('no access log given');
  const configPath = configPathFrom(args, process.env);
  // Through a gateway the file only sets the request limits; directly it configures the clients too.
  const config =
    configPath || !values.gateway ? loadConfig({ path: configPath, env: process.env }) : ({ ...CONFIG_DEFAULTS } as PushgateConfig);
  const alsoFailed = new Set((values['also-failed'] ?? '').split(',').filter((r) => r !== ''));
  if (values['include-unknown']) alsoFailed.add(UNKNOWN_FATE_REASON);

  let leftAlone = 0;
  const unfinished = await unfinishedPushes(positionals, alsoFailed, () => leftAlone++);
  if (leftAlone > 0) {
    err.write(
      `recover: ${leftAlone} pushes were sent and unanswered when the gateway stopped (${UNKNOWN_FATE_REASON}): ` +
        'the provider may have delivered them; left alone (--include-unknown re-sends them)\n',
    );
  }
  const masked = unfinished.filter((p) => isMaskedToken(p.token));
  if (masked.length > 0) {
    throw new CommandError(
      `${masked.length} of the ${unfinished.length} unfinished pushes have masked tokens (e.g. id ${masked[0].id}, token ${masked[0].token}): ` +
        'they cannot be re-sent and nothing was sent. Set core.log_full_token = true so that the access log can be used for recovery.',
    );
  }
  const { groups, expired } = regroup(unfinished);
  const report = (r: RecoveredPush): void => void out.write(`${JSON.stringify(r)}\n`);
  for (const p of expired) report({ ...idOf(p), token: p.token, platform: platformName(p), status: 'expired', reason: null });
  const tally: Record<string, number> = {};
  const counting = (r: RecoveredPush): void => {
    tally[r.status] = (tally[r.status] ?? 0) + 1;
    report(r);
  };
  if (values['dry-run']) {
    for (const group of groups)
      for (const p of group.pushes) report({ ...idOf(p), token: p.token, platform: platformName(p), status: 'pending', reason: null });
    err.write(`recover: ${unfinished.length} unfinished pushes (${expired.length} expired); dry run, nothing sent\n`);
    return 0;
  }
  try {
    if (values.gateway) await viaGateway(values.gateway, requests(groups, config), counting);
    else await direct(config, requests(groups, config), counting);
  } finally {
    const summary = Object.entries(tally).map(([status, n]) => `${n} ${status}`);
    err.write(`recover: ${unfinished.length} unfinished pushes, ${expired.length} expired; re-sent: ${summary.join(', ') || 'none'}\n`);
  }
  return Object.keys(tally).every((status) => status === 'succeeded') ? 0 : 1;
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      gateway: { type: 'string', short: 'g' },
      'also-failed': { type: 'string' },
      'include-unknown': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: true,
  });
}
