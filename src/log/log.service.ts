import { Inject, Injectable, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import pino, { type DestinationStream, type Logger } from 'pino';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';

type Destination = DestinationStream & { reopen?(): void; flushSync?(): void; flush?(callback: (error?: Error | null) => void): void };

/**
 * Access-log lines are collected up to {@link ACCESS_LOG_BUFFER} bytes and written synchronously in one call, at
 * least every second: one system call per ten lines or so, and memory bounded however fast pushes arrive (an
 * asynchronous writer buffers without limit while the disk or pipe is slower than the traffic). The chunk stays
 * small because sonic-boom measures the byte length of the chunk it appends to on every line: with 32 KB chunks a
 * line cost 2.7 us of CPU, with 2 KB 0.66 us (300,000 lines of 215 bytes to a file, Node.js 24).
 */
const ACCESS_LOG_BUFFER = 2 * 1024;
/**
 * The largest single write: sonic-boom requires it above `minLength`. At PIPE_BUF (4 KB on Linux) a write to a pipe
 * is atomic, so lines stay whole when both logs go to the same stdout.
 */
const MAX_WRITE = 4 * 1024;

/** A failed fsync (a pipe, a terminal) leaves the lines written: there is nothing more to do about it. */
function ignore(): void {}

function destination(target: string, minLength: number): Destination | undefined {
  switch (target) {
    case 'discard':
      return undefined;
    case 'stdout':
      return pino.destination({ dest: 1, sync: true, minLength, maxWrite: MAX_WRITE });
    case 'stderr':
      return pino.destination({ dest: 2, sync: true, minLength, maxWrite: MAX_WRITE });
    default:
      return pino.destination({ dest: target, mkdir: true, sync: true, minLength, maxWrite: MAX_WRITE });
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

function logger(target: string, level: string, minLength: number): { logger: Logger; dest?: Destination } {
  const dest = destination(target, minLength);
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
 */
@Injectable()
export class LogService implements LoggerService, OnApplicationShutdown {
  readonly accessLog: Logger;
  readonly errorLog: Logger;
  private readonly destinations: Destination[] = [];
  private readonly access?: Destination;

  constructor(@Inject(pushgateConfig.KEY) config: PushgateConfig) {
    const access = logger(config.log.access_log, 'info', ACCESS_LOG_BUFFER);
    const error = logger(config.log.error_log, config.log.level, 0);
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
