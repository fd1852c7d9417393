import { HttpException, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { catchError, map, throwError, type Observable } from 'rxjs';
import { ApiKeyGuard } from './auth.guard';

/** `ok` or `error`, whatever else a health answer holds. */
function statusOf(body: unknown): { status: 'ok' | 'error' } {
  return { status: (body as { status?: unknown } | null)?.status === 'ok' ? 'ok' : 'error' };
}

/**
 * Reduces an answer to `{"status": ...}` (its HTTP status unchanged) for callers without a valid key when
 * `auth.protect_stats` is on: a probe needs no more, and the details name apps, projects and queue usage.
 */
@Injectable()
export class StatusOnlyInterceptor implements NestInterceptor {
  constructor(private readonly guard: ApiKeyGuard) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.guard.hidesDetailsFrom(context.switchToHttp().getRequest<Request>())) return next.handle();
    return next.handle().pipe(
      map(statusOf),
      catchError((error: unknown) =>
        throwError(() => (error instanceof HttpException ? new HttpException(statusOf(error.getResponse()), error.getStatus()) : error)),
      ),
    );
  }
}
