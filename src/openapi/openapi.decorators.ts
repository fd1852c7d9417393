import type * as Swagger from '@nestjs/swagger';

export type { ApiPropertyOptions, OpenAPIObject } from '@nestjs/swagger';

/**
 * The OpenAPI decorators of @nestjs/swagger that the controllers and DTOs use, without loading it: each application
 * is recorded, and handed to Swagger's own decorator, in the same order, when the description is first asked for
 * ({@link loadSwagger}). A gateway that never serves `/docs` never loads Swagger (about 10 MB of memory).
 */
type DecoratorName =
  | 'ApiBadRequestResponse'
  | 'ApiBody'
  | 'ApiExtraModels'
  | 'ApiNotFoundResponse'
  | 'ApiOkResponse'
  | 'ApiOperation'
  | 'ApiParam'
  | 'ApiPayloadTooLargeResponse'
  | 'ApiProduces'
  | 'ApiProperty'
  | 'ApiPropertyOptional'
  | 'ApiQuery'
  | 'ApiServiceUnavailableResponse'
  | 'ApiTags';

interface Application {
  readonly name: DecoratorName;
  readonly args: unknown[];
  readonly target: unknown[];
}

type AnyDecoratorFactory = (...args: unknown[]) => (...target: unknown[]) => unknown;

const pending: Application[] = [];
let swagger: typeof Swagger | undefined;

function apply(loaded: typeof Swagger, { name, args, target }: Application): unknown {
  return (loaded[name] as unknown as AnyDecoratorFactory)(...args)(...target);
}

function deferred<N extends DecoratorName>(name: N): (typeof Swagger)[N] {
  const factory: AnyDecoratorFactory =
    (...args) =>
    (...target) => {
      if (swagger) return apply(swagger, { name, args, target });
      pending.push({ name, args, target });
      return undefined;
    };
  return factory as unknown as (typeof Swagger)[N];
}

/** @nestjs/swagger, with every decorator recorded so far applied; those applied later go to it directly. */
export async function loadSwagger(): Promise<typeof Swagger> {
  swagger ??= await import('@nestjs/swagger');
  for (const application of pending.splice(0)) apply(swagger, application);
  return swagger;
}

/**
 * Swagger's `getSchemaPath` for a class without `@ApiSchema` (none here has one): a reference to its schema, which
 * Swagger names after the class. Needed where the DTOs are defined, so before Swagger is loaded.
 */
export function getSchemaPath(model: { name: string }): string {
  return `#/components/schemas/${model.name}`;
}

export const ApiBadRequestResponse = deferred('ApiBadRequestResponse');
export const ApiBody = deferred('ApiBody');
export const ApiExtraModels = deferred('ApiExtraModels');
export const ApiNotFoundResponse = deferred('ApiNotFoundResponse');
export const ApiOkResponse = deferred('ApiOkResponse');
export const ApiOperation = deferred('ApiOperation');
export const ApiParam = deferred('ApiParam');
export const ApiPayloadTooLargeResponse = deferred('ApiPayloadTooLargeResponse');
export const ApiProduces = deferred('ApiProduces');
export const ApiProperty = deferred('ApiProperty');
export const ApiPropertyOptional = deferred('ApiPropertyOptional');
export const ApiQuery = deferred('ApiQuery');
export const ApiServiceUnavailableResponse = deferred('ApiServiceUnavailableResponse');
export const ApiTags = deferred('ApiTags');
