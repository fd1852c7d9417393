import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import pino, { type Logger } from 'pino';
import { LOG_CONFIG, type LogConfig } from '../config/pushgate.config';
import { LineBatch, type Destination } from './line-batch';

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

/** A failed fsync (a pipe, a terminal) leaves the lines written: there is nothing more to do about it. */
function ignore(): void {}

/**
 * sonic-boom writing every line (or chunk) at once, and the size of the chunks to gather for it. `minLength` 1
 * rather than 0 only so that `flush(callback)` also fsyncs, on libuv's thread pool.
 */
function destination(target: string, minLength: 0 | 1): { boom: Destination; chunk: number } | undefined {
  switch (target) {
    case 'discard':
      return undefined;
    case 'stdout':
      return { boom: pino.destination({ dest: 1, sync: true, minLength, maxWrite: PIPE_WRITE }), chunk: PIPE_WRITE };
    case 'stderr':
      return { boom: pino.destination({ dest: 2, sync: true, minLength, maxWrite: PIPE_WRITE }), chunk: PIPE_WRITE };
    default:
      return { boom: pino.destination({ dest: target, mkdir: true, sync: true, minLength, maxWrite: FILE_WRITE }), chunk: FILE_WRITE };
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

function logger(target: string, level: string, batched: boolean): { logger: Logger; dest?: Destination } {
  const found = destination(target, batched ? 1 : 0);
  const dest = found && batched ? new LineBatch(found.boom, found.chunk) : found?.boom;
  const options = {
    level: dest ? level : 'silent',
    base: null,
    timestamp: isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return { logger: dest ? pino(options, dest) : pino(options), dest };
}

/**
 * The two logs, as in Gaurun: the access log carries one JSON line per request and per push
 * (`accepted-push`, `succeeded-push`, `failed-push`); the error log carries the application's messages at
 * `log.level`. Both are files, stdout, stderr or discarded, and are reopened on SIGHUP for logrotate.
 *
 * Access-log lines are gathered ({@link LineBatch}) into chunks of {@link FILE_WRITE} bytes for a file or
 * {@link PIPE_WRITE} for a pipe, each written synchronously in one call; what is pending is written after every
 * accepted request and at least every second. Memory stays bounded however fast pushes arrive, where an asynchronous
 * writer would buffer without limit while the disk or pipe is slower than the traffic.
 */
@Injectable()
export class LogService implements LoggerService, OnApplicationShutdown {
  readonly accessLog: Logger;
  readonly errorLog: Logger;
  private readonly destinations: Destination[] = [];
  private readonly access?: Destination;

  constructor(@Inject(LOG_CONFIG) log: LogConfig) {
    const access = logger(log.access_log, 'info', true);
    const error = logger(log.error_log, log.level, false);
    this.accessLog = access.logger;
    this.errorLog = error.logger;
    this.access = access.dest;
    for (const dest of [access.dest, error.dest]) if (dest) this.destinations.push(dest);
  }

  /** Writes out what the logs have buffered, so that no line waits longer than a second. */
  @Interval('log-flush', 1000)
  flush(): void {
    for (const dest of this.destinations) dest.flush?.(ignore);
  }

  /**
   * Writes out what the access log has buffered, synchronously: once this returns the lines are the kernel's and
   * survive the gateway crashing. Getting them onto the disk (fsync) runs on libuv's thread pool, so the event loop
   * does not wait for the disk.
   */
  writeOut(): void {
    this.access?.flush?.(ignore);
  }

  /** Reopens log files after logrotate moved them. */
  reopen(): void {
    for (const dest of this.destinations) {
      dest.flushSync?.();
      dest.reopen?.();
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

  onApplicationShutdown(): void {
    for (const dest of this.destinations) dest.flushSync?.();
  }
}
