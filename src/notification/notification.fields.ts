import { applyDecorators, type Type as ClassType } from '@nestjs/common';
import { ApiPropertyOptional, type ApiPropertyOptions } from '../openapi/openapi.decorators';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';

// Stacked decorators apply bottom-up and applyDecorators in its argument order: each list is the stack read upwards,
// so the validation messages come in the order the stacked form gave them.

/** An optional string field (`@IsOptional() @IsString()`, `@MaxLength` when given), documented as `api` says. */
export function OptionalString(api?: ApiPropertyOptions, maxLength?: number): PropertyDecorator {
  const bound = maxLength === undefined ? [] : [MaxLength(maxLength)];
  return applyDecorators(...bound, IsString(), IsOptional(), ApiPropertyOptional(api));
}

/** An optional boolean field, documented as `api` says. */
export function OptionalBoolean(api?: ApiPropertyOptions): PropertyDecorator {
  return applyDecorators(IsBoolean(), IsOptional(), ApiPropertyOptional(api));
}

/** An optional integer field, documented as `api` says. */
export function OptionalInt(api?: ApiPropertyOptions): PropertyDecorator {
  return applyDecorators(IsInt(), IsOptional(), ApiPropertyOptional(api));
}

/** An optional nested object validated as `type`. */
export function OptionalNested(type: ClassType, api?: ApiPropertyOptions): PropertyDecorator {
  return applyDecorators(
    Type(() => type),
    ValidateNested(),
    IsObject(),
    IsOptional(),
    ApiPropertyOptional({ type, ...api }),
  );
}

/** A critical alert's optional `volume`, from 0 to 1. */
export function SoundVolume(): PropertyDecorator {
  return applyDecorators(
    Max(1),
    Min(0),
    IsNumber(),
    IsOptional(),
    ApiPropertyOptional({ type: 'number', format: 'float', example: 1, minimum: 0, maximum: 1 }),
  );
}
