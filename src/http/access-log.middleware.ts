import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { LogService } from '../log/log.service';
import { requestIdOf } from './request-id.middleware';

/** What the access log says of one HTTP request, besides `level` and `time`. */
export interface RequestLine {
  readonly request_id?: string;
  readonly type: 'request';
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly duration_ms: number;
  /** `POST /push` and `POST /api/push`: the tokens in the body, whatever the answer. */
  readonly pushes?: number;
  /** The client closed the connection before the answer was sent. */
  readonly aborted?: true;
  readonly error?: string;
}

/** Tokens in a push request's body: `notifications[].token` (Gaurun) or `notifications[].tokens` (Gorush). */
function pushesIn(body: unknown, key: 'token' | 'tokens'): number {
  const notifications = (body as { notifications?: unknown } | undefined)?.notifications;
  if (!Array.isArray(notifications)) return 0;
  let pushes = 0;
  for (const n of notifications as unknown[]) {
    const tokens = (n as Record<string, unknown> | null)?.[key];
    if (Array.isArray(tokens)) pushes += tokens.length;
  }
  return pushes;
}

/** The access-log line of a finished (or aborted) request. */
export function requestLine(req: Request, res: Response, durationMs: number): RequestLine {
  const url = req.originalUrl;
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const line: { -readonly [K in keyof RequestLine]: RequestLine[K] } = {
    request_id: requestIdOf(res),
    type: 'request',
    method: req.method,
    path,
    status: res.statusCode,
    duration_ms: durationMs,
  };
  if (req.method === 'POST') {
    if (path === '/push') line.pushes = pushesIn(req.body, 'token');
    else if (path === '/api/push') line.pushes = pushesIn(req.body, 'tokens');
  }
  if (!res.writableEnded) line.aborted = true;
  return line;
}

/** Set on a response whose line is already arranged: a request the OpenAPI routes passed on reaches Nest's too. */
const LOGGED = Symbol('access-logged');

type LoggedResponse = Response & { [LOGGED]?: true };

/**
 * One line per HTTP request, written when the answer is sent (or the client goes away): `type: "request"`, method,
 * path, status, duration, the request's id and, for the push routes, the pushes it carried.
 *
 * `log.format = "json"`: in the access log, beside the journal's push lines, at `info`, `warn` for a 4xx, `error` for a
 * 5xx. `log.format = "gaurun"` keeps the access log to Gaurun's own lines (what Gaurun's tools read), so the line goes
 * to the error log in Gaurun's shape: `info`, and `error` for a 4xx or 5xx, the level Gaurun logged its refusals at.
 *
 * The line is the logger's own call with the fields of {@link requestLine}: one `close` listener per response and
 * nothing else, where pino-http made two child loggers (one serialising the request) and three listeners for every
 * request, a tenth of what the gateway spends on a small `POST /push`.
 */
@Injectable()
export class AccessLogMiddleware implements NestMiddleware {
  private readonly logger: Logger;
  private readonly gaurun: boolean;

  constructor(logs: LogService) {
    this.gaurun = logs.format === 'gaurun';
    this.logger = this.gaurun ? logs.errorLog : logs.accessLog;
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const logged = res as LoggedResponse;
    if (logged[LOGGED]) return next();
    logged[LOGGED] = true;
    const started = Date.now();
    let failure: Error | undefined;
    const failed = (error: Error): void => {
      failure ??= error;
    };
    res.on('error', failed);
    // A response emits `close` once, after `finish` when it was sent and alone when the client went away first.
    res.once('close', () => {
      res.removeListener('error', failed);
      this.write(req, res, Date.now() - started, failure);
    });
    next();
  }

  private write(req: Request, res: Response, durationMs: number, error?: Error): void {
    const status = res.statusCode;
    const level = error || status >= 500 || (this.gaurun && status >= 400) ? 'error' : status >= 400 ? 'warn' : 'info';
    // Below log.level the line is not even built.
    if (!this.logger.isLevelEnabled(level)) return;
    const line = requestLine(req, res, durationMs);
    this.logger[level](error ? { ...line, error: error.message } : line);
  }
}
