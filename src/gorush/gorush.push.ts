import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, ValidationPipe } from '@nestjs/common';
import { AppsSettings, CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import { createValidationPipe, validationProblems } from '../http/validation.pipe';
import { type PushResultDto } from '../push/push.dto';
import { PushRequestDto } from '../notification/notification.dto';
import { PushService } from '../push/push.service';
import { GorushRequestDto, type GorushLogDto, type GorushPushAnswerDto } from './gorush.dto';
import { inGorushNames, toNotification, unsupportedField, type PlainNotification } from './gorush.mapping';

/** Gorush's error answer, `{"code": 400, "message": "..."}`, with the status (and Retry-After) of the refusal. */
export class GorushException extends HttpException {
  constructor(
    status: number,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super({ code: status, message }, status);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `POST /api/push` in Gorush's format: the request is checked as Gorush checks it, mapped onto pushgate's
 * notifications, validated as `POST /push` validates them and handed to the same {@link PushService.accept}: one
 * admission, queue, retry policy, journal and counters for both formats.
 */
@Injectable()
export class GorushPush {
  private readonly gorushPipe = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new BadRequestException({ errors: validationProblems(errors) }),
  });
  private readonly pushPipe = createValidationPipe();

  constructor(
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    private readonly apps: AppsSettings,
    private readonly push: PushService,
  ) {}

  async accept(body: unknown, waitMs?: number): Promise<GorushPushAnswerDto> {
    if (!isObject(body) || !Array.isArray(body.notifications)) throw new GorushException(400, 'Missing notifications field.');
    const count = body.notifications.length;
    if (count === 0) throw new GorushException(400, 'Notifications field is empty.');
    const max = this.core.notification_max;
    if (count > max) throw new GorushException(400, `Number of notifications(${count}) over limit(${max})`);

    const request = (await this.validate(this.gorushPipe, body, GorushRequestDto, (p) => p)) as GorushRequestDto;
    const now = Date.now();
    const problems: string[] = [];
    const notifications: PlainNotification[] = request.notifications.map((g, i) => {
      const mapped = toNotification(g, `notifications[${i}]`, now, { apps: this.apps.current() });
      problems.push(...mapped.problems);
      return mapped.notification;
    });
    if (problems.length > 0) throw new GorushException(400, summary(problems));
    const dto = (await this.validate(this.pushPipe, { notifications }, PushRequestDto, inGorushNames)) as PushRequestDto;

    let accepted;
    try {
      accepted = await this.push.accept(dto, waitMs);
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      const answer = error.getResponse() as { message?: string };
      const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
      throw new GorushException(error.getStatus(), inGorushNames(answer.message ?? error.message), retryAfter);
    }
    return { counts: accepted.count, logs: accepted.results ? gorushLogs(dto, accepted.results, waitMs!) : [], success: 'ok' };
  }

  private async validate(pipe: ValidationPipe, body: object, metatype: new () => object, rename: (p: string) => string): Promise<unknown> {
    try {
      return (await pipe.transform(body, { type: 'body', metatype })) as unknown;
    } catch (error) {
      if (!(error instanceof BadRequestException)) throw error;
      const answer = error.getResponse() as { message?: string; errors?: string[] };
      const problems = (answer.errors ?? [answer.message ?? error.message]).map((p) => rename(unsupportedField(p)));
      throw new GorushException(HttpStatus.BAD_REQUEST, summary(problems));
    }
  }
}

function summary(problems: string[]): string {
  return problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
}

/** Every token that did not succeed, as Gorush lists failures in sync mode; results come in request order. */
function gorushLogs(request: PushRequestDto, results: PushResultDto[], waitMs: number): GorushLogDto[] {
  const logs: GorushLogDto[] = [];
  let i = 0;
  for (const n of request.notifications) {
    for (let t = 0; t < n.token.length; t++, i++) {
      const result = results[i];
      if (result.status === 'succeeded') continue;
      const pending = result.status === 'pending';
      logs.push({
        ...(n.identifier !== undefined ? { notif_id: n.identifier } : {}),
        type: pending ? 'pending-push' : 'failed-push',
        platform: result.platform,
        token: result.token,
        message: n.message,
        error: pending ? `no result within ${waitMs / 1000} s (still queued or retrying)` : (result.reason ?? 'unknown'),
      });
    }
  }
  return logs;
}
