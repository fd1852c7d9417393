import { randomUUID } from 'node:crypto';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isPush } from './json-body.middleware';
import { requestIdOf } from './request-id.middleware';

/**
 * HttpException bodies pass through as `{message, ...}` (Gaurun clients read `message`); anything else is a 500
 * with a generic message and an error id that is also logged. No stack trace reaches the client. Refusals of
 * `POST /push` carry the request's `request_id`, as its 200 answers do.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const requestId = req.method === 'POST' && isPush(req) ? requestIdOf(res) : undefined;
    const withId = (body: object): object => (requestId === undefined ? body : { ...body, request_id: requestId });
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const retryAfter = (exception as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
      res.status(status).json(withId(typeof body === 'string' ? { message: body } : body));
      return;
    }
    const id = randomUUID();
    this.logger.error(`unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json(withId({ message: 'internal error', error_id: id }));
  }
}
