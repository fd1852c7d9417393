import { randomBytes } from 'node:crypto';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** The header a client may correlate a request with; the gateway answers with it on every response. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Longest request id kept; longer ones are cut. */
export const REQUEST_ID_MAX_LENGTH = 128;

/**
 * What a request id may contain: enough for UUIDs, W3C trace ids, ULIDs and base64url, nothing that could break a
 * log line, a header or the `GET /push/{id}` path.
 */
const UNSAFE = /[^A-Za-z0-9._:+=@-]/g;

/** The client's `X-Request-Id` reduced to the safe characters and the maximum length, or undefined if nothing is left. */
export function sanitizeRequestId(raw: string | string[] | undefined): string | undefined {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const safe = value.replace(UNSAFE, '').slice(0, REQUEST_ID_MAX_LENGTH);
  return safe === '' ? undefined : safe;
}

/** The id the request was given by {@link RequestIdMiddleware}. */
export function requestIdOf(res: Response): string | undefined {
  return (res.locals as { requestId?: string }).requestId;
}

/**
 * Gives every request an id: the client's `X-Request-Id` (sanitised) or a generated one, unique across restarts and
 * replicas. It is echoed as the `X-Request-Id` response header; `POST /push` answers, every refusal's body, the
 * journal's push lines and the request's access-log line carry it as `request_id`.
 */
@Injectable()
export class RequestIdMiddleware implements NestMiddleware {
  private readonly bootId = randomBytes(6).toString('base64url');
  private sequence = 0;

  use(req: Request, res: Response, next: NextFunction): void {
    const id = sanitizeRequestId(req.headers['x-request-id']) ?? `${this.bootId}-r${(this.sequence++).toString(36)}`;
    (res.locals as { requestId?: string }).requestId = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  }
}
