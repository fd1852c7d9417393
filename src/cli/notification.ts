import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { PushgateConfig } from '../config/pushgate.config';
import { validationProblems } from '../http/validation.pipe';
import { NotificationDto } from '../notification/notification.dto';

/**
 * A notification checked by the same rules as `POST /push` that need no provider (its provider checks its payload
 * when it is sent); throws with every problem named.
 */
export function validNotification(plain: Record<string, unknown>, config: PushgateConfig): NotificationDto {
  const dto = plainToInstance(NotificationDto, plain);
  const problems = validationProblems(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }));
  if (problems.length === 0) {
    if (dto.token.length > config.core.token_max) problems.push(`token: ${dto.token.length} tokens over limit(${config.core.token_max})`);
    if (dto.message === '' && !config.core.allows_empty_message)
      problems.push('message: empty message (core.allows_empty_message is false)');
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return dto;
}

/** The command cannot do what it was asked: reported without a stack trace, exit status 2. */
export class CommandError extends Error {
  override readonly name: string = 'CommandError';
}

/** A mistake in the arguments: reported with a pointer to the usage. */
export class UsageError extends CommandError {
  override readonly name = 'UsageError';
}
