import { HttpException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiKeyGuard } from './auth.guard';

/**
 * The guard's key check for routes mounted on Express directly, outside Nest's guards (the OpenAPI description):
 * they need a key whenever the API does.
 */
export function keyRequired(guard: ApiKeyGuard, path: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    guard.authenticate(req, res, path).then(
      () => next(),
      (error: unknown) => {
        if (!(error instanceof HttpException)) return next(error);
        const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
        if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
        // The id RequestIdMiddleware gave the request, as the global exception filter adds it to every refusal.
        const requestId = (res.locals as { requestId?: string }).requestId;
        res
          .status(error.getStatus())
          .json({ ...(error.getResponse() as object), ...(requestId === undefined ? {} : { request_id: requestId }) });
      },
    );
  };
}
