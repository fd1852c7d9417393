import { BadRequestException, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { ExtendDto, NotificationDto, PushRequestDto } from '../notification/notification.dto';
import { ValidationFastPath } from './validation.fast-path';

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

/**
 * The keys of a DTO class (its validated properties) as Go's encoding/json matches JSON keys to struct fields: the
 * exact name first, else one equal to it but for case. `nested` gives the keys of the objects in an array field.
 */
export class JsonKeys {
  private readonly exact: ReadonlySet<string>;
  private readonly folded = new Map<string, string>();

  constructor(
    target: new () => object,
    readonly nested: Readonly<Record<string, JsonKeys>> = {},
  ) {
    this.exact = new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(target, '', true, false)
        .map((m) => m.propertyName),
    );
    for (const name of this.exact) this.folded.set(name.toLowerCase(), name);
  }

  /** The property a key of the body sets, or undefined when it sets none. */
  match(key: string): string | undefined {
    return this.exact.has(key) ? key : this.folded.get(key.toLowerCase());
  }
}

/** The keys of `POST /push`: Gaurun's request. */
export const PUSH_REQUEST_KEYS = new JsonKeys(PushRequestDto, {
  notifications: new JsonKeys(NotificationDto, { extend: new JsonKeys(ExtendDto) }),
});

/**
 * A decoded JSON value with its object keys matched as Go's encoding/json matched Gaurun's request: a key in another
 * case sets the property (a later key setting the same property wins, as in Go); a key that sets nothing is left out
 * and named in `ignored`. Values that need no change are returned as they are, so a usual body is not copied.
 */
export function matchKeys(value: unknown, keys: JsonKeys, path: string, ignored: string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  let changed = false;
  const matched: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const name = keys.match(key);
    if (name === undefined) {
      ignored.push(`${path === '' ? key : `${path}.${key}`}: unknown key, ignored`);
      changed = true;
      continue;
    }
    let field = source[key];
    const inner = keys.nested[name];
    if (inner !== undefined && Array.isArray(field)) {
      const items = field as unknown[];
      const fieldPath = path === '' ? name : `${path}.${name}`;
      let copy: unknown[] | undefined;
      for (let i = 0; i < items.length; i++) {
        const item = matchKeys(items[i], inner, `${fieldPath}[${i}]`, ignored);
        if (item !== items[i]) (copy ??= items.slice())[i] = item;
      }
      if (copy !== undefined) field = copy;
    }
    if (name !== key || field !== source[key]) changed = true;
    matched[name] = field;
  }
  return changed ? matched : value;
}

/**
 * Whitelisting, every problem listed with its path. The body of `POST /push` is read as Gaurun read it: keys in
 * another case match, unknown keys are ignored and listed in the request's `warnings`; with `strictKeys` every key
 * must match exactly and an unknown one is refused, as for every other body.
 */
export class PushgateValidationPipe extends ValidationPipe {
  /** A valid push request takes it; the full path below words the problems of any other. */
  private readonly pushRequests = new ValidationFastPath(PushRequestDto);

  constructor(private readonly strictKeys: boolean) {
    super({
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

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' || metadata.metatype !== PushRequestDto) return super.transform(value, metadata);
    if (this.strictKeys) return this.pushRequests.build<PushRequestDto>(value) ?? super.transform(value, metadata);
    const ignored: string[] = [];
    const matched = matchKeys(value, PUSH_REQUEST_KEYS, '', ignored);
    const request = this.pushRequests.build<PushRequestDto>(matched) ?? ((await super.transform(matched, metadata)) as PushRequestDto);
    if (ignored.length > 0) request.warnings = ignored;
    return request;
  }
}

export function createValidationPipe(options: { strictKeys?: boolean } = {}): ValidationPipe {
  return new PushgateValidationPipe(options.strictKeys ?? false);
}
