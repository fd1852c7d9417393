import { HttpException } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiKeyGuard } from '../auth/auth.guard';
import { answerRefusal } from './http-exception.filter';

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
        // As the global exception filter answers every other refusal.
        answerRefusal(res, error);
      },
    );
  };
}
