import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '../openapi/openapi.decorators';

/** The OpenAPI description of a route answering runtime figures: an object of free-form keys, shown by an example. */
export function RuntimeFigures(summary: string, example: object): MethodDecorator {
  return applyDecorators(ApiOperation({ summary }), ApiOkResponse({ schema: { type: 'object', additionalProperties: true, example } }));
}
