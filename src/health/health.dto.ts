import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '../openapi/openapi.decorators';

/** Indicators by name, each with its `status` and what it reports (usage, reason...). */
function indicators(description: string, example: object): ApiPropertyOptions {
  return {
    type: 'object',
    additionalProperties: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['up', 'down'] } },
      additionalProperties: true,
    },
    description,
    example,
  };
}

class ProcessStatusDto {
  @ApiProperty({ enum: ['up'], example: 'up' })
  readonly status!: 'up';

  @ApiProperty({ type: 'integer', example: 3600 })
  readonly uptime_seconds!: number;
}

class LivenessInfoDto {
  @ApiProperty({ type: ProcessStatusDto })
  readonly process!: ProcessStatusDto;
}

/** The answer of `GET /health/live`. */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  readonly status!: 'ok';

  @ApiProperty({ type: LivenessInfoDto })
  readonly info!: LivenessInfoDto;
}

/** The answer of `GET /health/ready` (Terminus' result); callers without a key may get `status` alone. */
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  readonly status!: 'ok' | 'error' | 'shutting_down';

  @ApiPropertyOptional(indicators('Indicators that are up.', { queue: { status: 'up', usage: 0, max: 8192 } }))
  readonly info?: Record<string, { status: 'up' | 'down' }>;

  @ApiPropertyOptional(indicators('Indicators that are down.', {}))
  readonly error?: Record<string, { status: 'up' | 'down' }>;

  @ApiPropertyOptional(indicators('Every indicator.', { queue: { status: 'up', usage: 0, max: 8192 } }))
  readonly details?: Record<string, { status: 'up' | 'down' }>;

  @ApiPropertyOptional({
    description: "On a 503 only, as on every refusal: the request's id (`X-Request-Id`, or one generated).",
    example: 'fSfFwgfS-r0',
  })
  readonly request_id?: string;
}
