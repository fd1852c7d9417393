import { randomUUID } from 'node:crypto';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { requestIdOf } from './request-id.middleware';

/** The refusal's body with the request's id added (an object body; anything else becomes `{message}`). */
export function withRequestId(body: unknown, requestId: string | undefined): object {
  const object = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : { message: String(body) };
  return requestId === undefined ? object : { ...object, request_id: requestId };
}

/** Answers a refusal: its status, `Retry-After` when it names one, and its body with the request's id. */
export function answerRefusal(res: Response, exception: HttpException): void {
  const retryAfter = (exception as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  res.status(exception.getStatus()).json(withRequestId(exception.getResponse(), requestIdOf(res)));
}

/**
 * HttpException bodies pass through as `{message, ...}` (Gaurun clients read `message`); anything else is a 500
 * with a generic message and an error id that is also logged. No stack trace reaches the client. Every refusal, on
 * every route, carries the request's `request_id`, as the `X-Request-Id` header does.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) return answerRefusal(res, exception);
    const id = randomUUID();
    this.logger.error(`unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json(withRequestId({ message: 'internal error', error_id: id }, requestIdOf(res)));
  }
}
