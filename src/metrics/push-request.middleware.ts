import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { isPush } from '../http/json-body.middleware';
import { MetricsService } from './metrics.service';

/**
 * Times every answered `POST /push` for `pushgate_push_request_duration_seconds`: from the request reaching the
 * gateway's middleware, before its body is read, until the answer is written, refusals included.
 */
@Injectable()
export class PushRequestTimer implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    if (req.method === 'POST' && isPush(req)) {
      const started = performance.now();
      res.once('finish', () => this.metrics.observePushRequest(res.statusCode, (performance.now() - started) / 1000));
    }
    next();
  }
}
