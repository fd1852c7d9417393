import * as Swagger from '@nestjs/swagger';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags, loadSwagger } from './openapi.decorators';

/** Every piece of metadata on a class, its prototype and their members, by key. */
function metadataOf(type: abstract new () => unknown): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const targets: [string, object][] = [
    ['class', type],
    ['prototype', type.prototype as object],
    ...Object.getOwnPropertyNames(type.prototype).map((name): [string, object] => [name, (type.prototype as Record<string, object>)[name]]),
  ];
  for (const [where, target] of targets) {
    for (const key of Reflect.getOwnMetadataKeys(target)) found[`${where} ${String(key)}`] = Reflect.getOwnMetadata(key, target);
    for (const member of ['token', 'badge', 'sound']) {
      for (const key of Reflect.getOwnMetadataKeys(target, member)) {
        found[`${where}.${member} ${String(key)}`] = Reflect.getOwnMetadata(key, target, member);
      }
    }
  }
  return found;
}

const swaggerKeys = (metadata: Record<string, unknown>): string[] => Object.keys(metadata).filter((key) => key.includes('swagger/'));

class DeferredDto {
  @ApiProperty({ example: 'abc' }) readonly token!: string;
  @ApiPropertyOptional({ minimum: 0 }) readonly badge?: number;
}

@ApiTags('push')
class DeferredController {
  @ApiOperation({ summary: 'Send' })
  @ApiOkResponse({ type: DeferredDto })
  send(): void {}
}

class SwaggerDto {
  @Swagger.ApiProperty({ example: 'abc' }) readonly token!: string;
  @Swagger.ApiPropertyOptional({ minimum: 0 }) readonly badge?: number;
}

@Swagger.ApiTags('push')
class SwaggerController {
  @Swagger.ApiOperation({ summary: 'Send' })
  @Swagger.ApiOkResponse({ type: DeferredDto })
  send(): void {}
}

describe('the deferred OpenAPI decorators', () => {
  it('record nothing on the classes until Swagger is loaded, then what its own decorators record, in the same order', async () => {
    expect(swaggerKeys(metadataOf(DeferredDto))).toEqual([]);
    expect(swaggerKeys(metadataOf(DeferredController))).toEqual([]);

    await loadSwagger();

    expect(swaggerKeys(metadataOf(DeferredDto)).length).toBeGreaterThan(0);
    expect(metadataOf(DeferredDto)).toEqual(metadataOf(SwaggerDto));
    expect(metadataOf(DeferredController)).toEqual(metadataOf(SwaggerController));
  });

  it('apply at once once Swagger is loaded', async () => {
    await loadSwagger();
    class Later {
      @ApiProperty({ example: 'x' }) readonly sound!: string;
    }
    class LaterSwagger {
      @Swagger.ApiProperty({ example: 'x' }) readonly sound!: string;
    }
    expect(swaggerKeys(metadataOf(Later)).length).toBeGreaterThan(0);
    expect(metadataOf(Later)).toEqual(metadataOf(LaterSwagger));
  });
});
