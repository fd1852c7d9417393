import { randomUUID } from 'node:crypto';
import { Catch, HttpException, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';

/**
 * HttpException bodies pass through as `{message, ...}` (Gaurun clients read `message`); anything else is a 500
 * with a generic message and an error id that is also logged. No stack trace reaches the client.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const retryAfter = (exception as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
      res.status(status).json(typeof body === 'string' ? { message: body } : body);
      return;
    }
    const id = randomUUID();
    this.logger.error(`unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`);
    res.status(HttpStatus.INTERNAL_SERVER_ERROR).json({ message: 'internal error', error_id: id });
  }
}
