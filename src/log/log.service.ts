import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import pino, { type DestinationStream, type Logger } from 'pino';
import { LOG_CONFIG, type LogConfig } from '../config/pushgate.config';
import { LineBatch } from './line-batch';
import { LogFile } from './log.file';

/**
 * The largest single write to a pipe (stdout, stderr). At PIPE_BUF (4 KB on Linux) a write to a pipe is atomic, so
 * lines stay whole when both logs go to the same stdout.
 */
const PIPE_WRITE = 4 * 1024;
/**
 * The largest single write to a file: a 1,000-push request's `accepted-push` lines (about 215 KB) in four system
 * calls instead of fifty-four.
 */
const FILE_WRITE = 64 * 1024;
/** Free bytes on a full disk's file system from which its log is tried again: a page, a few lines. */
const ROOM = 4096;
/** While a log keeps failing, its failures are reported at most this often. */
const REPORT_EVERY_MS = 60_000;

export type LogName = 'access' | 'error';

/** Where a write to the access log stands: why it fails, since when, or nothing when it works. */
export interface LogFailure {
  readonly code: string;
  readonly message: string;
  readonly since: number;
}

/**
 * Where the lines of one {@link LogService.journal} call went: the file's length before and after them, so that
 * they can be taken back while nothing followed them (undefined for a pipe).
 */
export interface JournalEntry {
  readonly from?: number;
  readonly to?: number;
}

function ignore(): void {}

function openTarget(target: string): LogFile | undefined {
  switch (target) {
    case 'discard':
      return undefined;
    case 'stdout':
      return LogFile.stdout();
    case 'stderr':
      return LogFile.stderr();
    default:
      return LogFile.open(target);
  }
}

let stampedAt = 0;
let stamp = '';

/** pino's `isoTime`, formatted once per millisecond: at full speed hundreds of lines share each one. */
function isoTime(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

const zoneFormat = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** The local zone's abbreviation as Go prints it: `UTC`, `JST`, or `+0530` where the zone has no name. */
function zoneName(date: Date): string {
  const name = zoneFormat.formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  const offset = /^GMT([+-])(\d{1,2})(?::(\d{2}))?$/.exec(name);
  if (!offset) return name;
  return `${offset[1]}${two(Number(offset[2]))}${offset[3] ?? ''}`;
}

let gaurunSecond = -1;
let gaurunStamp = '';

/** Local time in Go's layout `2006/01/02 15:04:05 MST`, as Gaurun's zap logs wrote `time`. */
export function gaurunTime(ms = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== gaurunSecond) {
    const d = new Date(ms);
    gaurunSecond = second;
    gaurunStamp =
      `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ` +
      `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zoneName(d)}`;
  }
  return gaurunStamp;
}

/**
 * The two logs, as in Gaurun: the access log carries one JSON line per push event
 * (`accepted-push`, `succeeded-push`, `failed-push`) and one per HTTP request (`request`, from pino-http, in the
 * error log instead with `log.format = "gaurun"`); the error log carries the application's messages at `log.level`.
 * Both are files, stdout, stderr or discarded; files are reopened on SIGHUP for logrotate.
 * `log.format = "gaurun"` writes Gaurun's zap shape (`time` in Go's layout, `message`) instead of pino's.
 *
 * Access-log lines are gathered ({@link LineBatch}) into chunks of {@link FILE_WRITE} bytes for a file or
 * {@link PIPE_WRITE} for a pipe, each written synchronously in one call; what is pending is written after every
 * accepted request and at least every second. Memory stays bounded however fast pushes arrive, where an asynchronous
 * writer would buffer without limit while the disk or pipe is slower than the traffic.
 *
 * No write error ends the process or reaches the code that logged: a failed access-log write is counted
 * ({@link writeErrors}), marks the access log failing ({@link accessFailure}, readiness) and is reported on the
 * error log; a failed error-log line goes to stderr instead. The journal alone learns whether its lines were written
 * ({@link journal}), because a request is answered from that.
 */
@Injectable()
export class LogService implements LoggerService, OnApplicationShutdown {
  readonly accessLog: Logger;
  readonly errorLog: Logger;
  readonly format: 'json' | 'gaurun';
  /** Failed writes since start, by log. */
  readonly writeErrors: Record<LogName, number> = { access: 0, error: 0 };
  private readonly accessFile?: LogFile;
  private readonly accessBatch?: LineBatch;
  private readonly errorFile?: LogFile;
  private readonly errorSink?: DestinationStream;
  private failure?: LogFailure;
  private reportedAt = -Infinity;
  private failedSinceReport = 0;
  private errorLogFailing = false;
  /** Written synchronously, like the logs: `process.stderr` would end the process on a closed pipe (EPIPE). */
  private readonly stderr = LogFile.stderr();

  constructor(@Inject(LOG_CONFIG) log: LogConfig) {
    this.format = log.format === 'gaurun' ? 'gaurun' : 'json';
    const options = {
      base: null,
      ...(this.format === 'gaurun' ? { timestamp: () => `,"time":"${gaurunTime()}"`, messageKey: 'message' } : { timestamp: isoTime }),
      formatters: { level: (label: string) => ({ level: label }) },
    };

    this.accessFile = openTarget(log.access_log);
    if (this.accessFile) {
      const chunk = this.accessFile.path === undefined ? PIPE_WRITE : FILE_WRITE;
      this.accessBatch = new LineBatch(this.accessFile, chunk, (error) => this.accessWritten(error));
      this.accessLog = pino({ ...options, level: 'info' }, this.accessBatch);
    } else {
      this.accessLog = pino({ ...options, level: 'silent' });
    }

    this.errorFile = openTarget(log.error_log);
    if (this.errorFile) {
      const file = this.errorFile;
      this.errorSink = { write: (line: string) => this.writeError(file, line) };
      this.errorLog = pino({ ...options, level: log.level }, this.errorSink);
    } else {
      this.errorLog = pino({ ...options, level: 'silent' });
    }
  }

  /** Why the access log cannot be written, or undefined while it can. */
  get accessFailure(): LogFailure | undefined {
    return this.failure;
  }

  /**
   * Writes out what the logs have buffered, so that no line waits longer than a second. While the access log is
   * failing with nothing to write, a file on a full disk is marked writable again once its file system has room.
   */
  @Interval('log-flush', 1000)
  flush(): void {
    if (this.failure && this.accessBatch?.pendingBytes === 0) this.probe();
    this.accessBatch?.flush(ignore);
  }

  /**
   * Writes out what the access log has buffered, synchronously: once this returns the lines are the kernel's and
   * survive the gateway crashing. Getting them onto the disk (fsync) runs on libuv's thread pool, so the event loop
   * does not wait for the disk.
   */
  writeOut(): void {
    this.accessBatch?.flush(ignore);
  }

  /** Adds one line, already serialised (newline included), to the access log. */
  accessLine(line: string): void {
    this.accessBatch?.write(line);
  }

  /** Writes one line, already serialised (newline included), to the error log. */
  errorLine(line: string): void {
    this.errorSink?.write(line);
  }

  /**
   * Runs `write`, which logs access-log lines, and hands those lines to the kernel at once. Returns where they went,
   * or undefined when they could not all be written: then what was written of them is cut off the file again (a
   * file; a pipe keeps it) and the failure is counted and reported like any other.
   */
  journal(write: () => void): JournalEntry | undefined {
    const batch = this.accessBatch;
    const file = this.accessFile;
    if (!batch || !file) {
      write();
      return {};
    }
    // The lines pending from before (outcome lines, mostly) go in the same write as this call's: one system call per
    // request instead of two. Only this call's lines are cut back when it fails; a failure of the earlier ones refuses
    // the request as well, since its lines went with them.
    const from = file.markAfter(batch.pendingBytes);
    const errors = this.writeErrors.access;
    write();
    if (batch.release() === undefined && this.writeErrors.access === errors) return { from, to: file.mark() };
    batch.discard();
    file.rollback(from);
    return undefined;
  }

  /** Takes back the lines of `entry` if nothing was written after them (a file); true when it did. */
  withdraw(entry: JournalEntry): boolean {
    this.accessBatch?.release();
    return this.accessFile?.rollback(entry.from, entry.to) ?? false;
  }

  /**
   * Reopens the log files after logrotate moved them; stdout and stderr stay as they are. A file that cannot be
   * opened again keeps receiving lines at its old place, and the error log says so.
   */
  reopen(): void {
    for (const [name, file] of [
      ['access', this.accessFile],
      ['error', this.errorFile],
    ] as const) {
      if (!file?.path) continue;
      try {
        if (name === 'access') this.accessBatch?.reopen();
        else file.reopen();
      } catch (error) {
        this.errorLog.error(
          { context: LogService.name },
          `${name} log: cannot reopen ${file.path} (${(error as Error).message}); still writing to the file opened before`,
        );
      }
    }
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest passes `(message, context)` or `(message, stack, context)`. */
  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: unknown, params: unknown[]): void {
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : undefined;
    const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
    if (message instanceof Error) this.errorLog[level]({ context, err: message }, message.message);
    else this.errorLog[level]({ context, stack }, String(message));
  }

  /** Writes what is pending once, without waiting on a failing disk: the process ends within its budget. */
  onApplicationShutdown(): void {
    this.accessBatch?.flushSync();
    this.errorFile?.flushSync();
  }

  private accessWritten(error?: Error): void {
    if (!error) {
      if (this.failure) this.recovered();
      return;
    }
    this.writeErrors.access++;
    this.failedSinceReport++;
    const now = Date.now();
    if (!this.failure) this.failure = { code: (error as NodeJS.ErrnoException).code ?? 'EIO', message: error.message, since: now };
    if (now - this.reportedAt < REPORT_EVERY_MS) return;
    this.reportedAt = now;
    this.errorLog.error(
      { context: LogService.name, failed_writes: this.failedSinceReport },
      `access log: write failed (${error.message}); requests are refused with 503 until it can be written again`,
    );
    this.failedSinceReport = 0;
  }

  private recovered(): void {
    const down = Math.round((Date.now() - this.failure!.since) / 1000);
    this.failure = undefined;
    this.reportedAt = -Infinity;
    this.errorLog.warn({ context: LogService.name, failed_writes: this.failedSinceReport }, `access log: writable again after ${down} s`);
    this.failedSinceReport = 0;
  }

  /** A full disk with room again is taken as writable; the next write confirms it or marks it failing again. */
  private probe(): void {
    const path = this.accessFile?.path;
    if (this.failure?.code !== 'ENOSPC' || path === undefined) return;
    try {
      const fs = statfsSync(dirname(path));
      if (fs.bavail * fs.bsize >= ROOM) this.recovered();
    } catch {
      ignore();
    }
  }

  private writeError(file: LogFile, line: string): void {
    try {
      file.write(line);
      this.errorLogFailing = false;
      return;
    } catch (error) {
      this.writeErrors.error++;
      // stdout or stderr itself failed: there is nowhere left to say so.
      if (file.path === undefined) return;
      try {
        if (!this.errorLogFailing) {
          this.stderr.write(`pushgate: error log ${file.path}: write failed (${(error as Error).message}); its lines go to stderr\n`);
        }
        this.errorLogFailing = true;
        this.stderr.write(line);
      } catch {
        ignore();
      }
    }
  }
}
