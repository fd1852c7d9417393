import { BadRequestException, Inject, Injectable, PayloadTooLargeException, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { ApiKeyGuard, bearerToken } from '../auth/auth.guard';
import { ApiKeys } from '../auth/auth.keys';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';

/** Deeper JSON is refused before it is parsed: a push request needs 4 levels, and validation recurses. */
export const JSON_MAX_DEPTH = 32;

/**
 * Whether arrays and objects in a JSON text (its UTF-8 bytes) nest deeper than `max`; stops at the first level too
 * deep. The bytes are scanned rather than the decoded string: the characters that matter are ASCII, which UTF-8 never
 * uses inside a multi-byte character, and a body read in chunks decodes to a string V8 reads slowly character by
 * character.
 */
export function jsonDepthExceeds(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/**
 * Reads every request body as JSON whatever its Content-Type, as Gaurun did: clients in the wild send none or a
 * form type. Errors carry Gaurun's messages.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  constructor(
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    private readonly guard: ApiKeyGuard,
    private readonly keys: ApiKeys,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    // A client without a valid key gets its 401 from the guard without the gateway reading and parsing its body.
    if (this.unauthenticated(req)) return next();
    const declared = Number(req.headers['content-length']);
    if (declared > this.core.body_limit) {
      // Refused before a byte of it is read; the connection closes after the answer, as the body is not wanted.
      res.setHeader('Connection', 'close');
      throw this.tooLarge();
    }
    let bytes: Buffer;
    try {
      bytes = await getRawBody(req, { limit: this.core.body_limit });
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') throw this.tooLarge();
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    let raw = bytes.toString('utf8');
    // A byte order mark is not JSON; some clients send one.
    if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    // Whitespace alone, found without copying the body as trim() would.
    if (!/\S/.test(raw)) {
      req.body = undefined;
      if (isPush(req)) throw new BadRequestException({ message: 'request body is empty' });
      return next();
    }
    if (jsonDepthExceeds(bytes, JSON_MAX_DEPTH)) {
      throw new BadRequestException({ message: `Request-body is malformed: JSON nested deeper than ${JSON_MAX_DEPTH} levels` });
    }
    try {
      req.body = JSON.parse(raw) as unknown;
    } catch {
      // Gorush answers a body it cannot bind so, in its own shape.
      if (isGorushPush(req)) throw new BadRequestException({ code: 400, message: 'Missing notifications field.' });
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    if (isPush(req) && (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))) {
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    next();
  }

  private tooLarge(): PayloadTooLargeException {
    return new PayloadTooLargeException({ message: `request body over limit(${this.core.body_limit} bytes)` });
  }

  private unauthenticated(req: Request): boolean {
    if (!this.keys.enabled) return false;
    const path = req.path.toLowerCase().replace(/(.)\/+$/, '$1');
    if (!this.guard.requiresKey(path)) return false;
    const presented = bearerToken(req.headers.authorization);
    return presented === undefined || this.keys.match(presented) === undefined;
  }
}

/** Whether the request is for `POST /push`'s path (with or without a query). */
export function isPush(req: Request): boolean {
  return req.originalUrl === '/push' || req.originalUrl.startsWith('/push?');
}

/** Whether the request is for Gorush's `POST /api/push`. */
function isGorushPush(req: Request): boolean {
  return req.originalUrl === '/api/push' || req.originalUrl.startsWith('/api/push?');
}
