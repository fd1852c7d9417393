import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

const EMPTY = 'empty notification';

/** Flattens class-validator errors into `path: problem` lines, e.g. `notifications[3].platform: ...`. */
export function validationProblems(errors: ValidationError[], parent = ''): string[] {
  const problems: string[] = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      problems.push(message === EMPTY ? message : `${path}: ${message}`);
    }
    problems.push(...validationProblems(error.children ?? [], path));
  }
  return problems;
}

/** Whitelisting, forbidding unknown fields, every problem listed with its path. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => {
      const found = [...new Set(validationProblems(errors))];
      // With no notifications at all, Gaurun's one message says everything; the rest would only restate it.
      const problems = found.includes(EMPTY) ? [EMPTY] : found;
      const message = problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
      return new BadRequestException({ message, errors: problems });
    },
  });
}
