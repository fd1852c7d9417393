import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { pinoHttp, type HttpLogger } from 'pino-http';
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

/**
 * One line per HTTP request, written by pino-http when the answer is sent (or the client goes away): `type:
 * "request"`, method, path, status, duration, the request's id and, for the push routes, the pushes it carried.
 *
 * `log.format = "json"`: in the access log, beside the journal's push lines, at `info`, `warn` for a 4xx, `error` for a
 * 5xx. `log.format = "gaurun"` keeps the access log to Gaurun's own lines (what Gaurun's tools read), so the line goes
 * to the error log in Gaurun's shape: `info`, and `error` for a 4xx or 5xx, the level Gaurun logged its refusals at.
 */
@Injectable()
export class AccessLogMiddleware implements NestMiddleware {
  private readonly log: HttpLogger<Request, Response>;

  constructor(logs: LogService) {
    const gaurun = logs.format === 'gaurun';
    const logger = gaurun ? logs.errorLog : logs.accessLog;
    const level = (status: number, error?: Error): 'info' | 'warn' | 'error' =>
      error || status >= 500 || (gaurun && status >= 400) ? 'error' : status >= 400 ? 'warn' : 'info';
    this.log = pinoHttp<Request, Response>({
      logger,
      genReqId: (_req, res) => requestIdOf(res) ?? '',
      // The line carries the fields of requestLine only: no headers (they hold API keys), no request object; it is
      // written by the logger itself rather than by the child pino-http makes for each request (its `req.log`).
      quietResLogger: true,
      wrapSerializers: false,
      serializers: { req: () => undefined },
      // Below log.level the line is not even built.
      customLogLevel: (_req, res, error) => {
        const chosen = level(res.statusCode, error);
        return logger.isLevelEnabled(chosen) ? chosen : 'silent';
      },
      customSuccessObject: (req, res, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
      // pino-http makes up an error for every 5xx ("failed with status code 500"); the status says that already.
      customErrorObject: (req, res, error, val: { responseTime: number }) =>
        /^failed with status code \d+$/.test(error.message)
          ? requestLine(req, res, val.responseTime)
          : { ...requestLine(req, res, val.responseTime), error: error.message },
      customSuccessMessage: () => undefined as unknown as string,
      customErrorMessage: () => undefined as unknown as string,
    });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    this.log(req, res, next);
  }
}
