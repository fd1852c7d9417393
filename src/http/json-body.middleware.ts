import { BadRequestException, Inject, Injectable, PayloadTooLargeException, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { pushgateConfig, type PushgateConfig } from '../config/pushgate.config';

/**
 * Reads every request body as JSON whatever its Content-Type, as Gaurun did: clients in the wild send none or a
 * form type. Errors carry Gaurun's messages.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  constructor(@Inject(pushgateConfig.KEY) private readonly config: PushgateConfig) {}

  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    let raw: string;
    try {
      raw = await getRawBody(req, { limit: this.config.core.body_limit, encoding: 'utf8' });
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') {
        throw new PayloadTooLargeException({ message: `request body over limit(${this.config.core.body_limit} bytes)` });
      }
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    if (raw.trim() === '') {
      req.body = undefined;
      if (isPush(req)) throw new BadRequestException({ message: 'request body is empty' });
      return next();
    }
    try {
      req.body = JSON.parse(raw) as unknown;
    } catch {
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    if (isPush(req) && (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))) {
      throw new BadRequestException({ message: 'Request-body is malformed' });
    }
    next();
  }
}

function isPush(req: Request): boolean {
  return req.originalUrl === '/push' || req.originalUrl.startsWith('/push?');
}
