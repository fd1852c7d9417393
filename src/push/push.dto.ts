import { ApiProperty, ApiPropertyOptional } from '../openapi/openapi.decorators';

export const PUSH_STATUSES = ['succeeded', 'failed', 'pending'] as const;
export type PushStatus = (typeof PUSH_STATUSES)[number];

/** How one token of a request ended, or that it has not ended yet. */
export class PushResultDto {
  @ApiProperty({ example: '6f2c1e0a9b1d' })
  readonly token!: string;

  @ApiProperty({ enum: ['ios', 'android'], example: 'ios' })
  readonly platform!: 'ios' | 'android';

  @ApiProperty({ enum: PUSH_STATUSES, example: 'failed' })
  readonly status!: PushStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The APNs reason, FCM error code or transport reason of a failed push; null otherwise.',
    example: 'BadDeviceToken',
  })
  readonly reason!: string | null;
}

export class PushAcceptedDto {
  @ApiProperty({ type: String, example: 'ok', description: 'Gaurun clients read only this field.' })
  readonly message = 'ok';

  @ApiProperty({ type: 'integer', example: 2, description: 'Pushes queued by this request (one per token).' })
  readonly count: number;

  @ApiProperty({
    example: 'fSfFwgfS-r1a',
    description:
      "This request's id, for `GET /push/{id}`, also in the `X-Request-Id` response header and the journal lines: the " +
      "client's `X-Request-Id` (safe characters, at most 128), else a generated one, unique across restarts and replicas.",
  })
  readonly request_id: string;

  @ApiPropertyOptional({
    type: [PushResultDto],
    description: "With `wait=true` only: every token's result, in request order; `pending` when the wait timed out first.",
    example: [
      { token: '6f2c1e0a9b1d', platform: 'ios', status: 'succeeded', reason: null },
      { token: 'fcm-registration-token', platform: 'android', status: 'failed', reason: 'UNREGISTERED' },
    ],
  })
  readonly results?: PushResultDto[];

  @ApiPropertyOptional({
    type: 'integer',
    example: 1,
    description: 'Pushes not sent because their platform is disabled (`ios.enabled` / `android.enabled = false`); absent when none.',
  })
  readonly skipped?: number;

  @ApiPropertyOptional({
    type: [String],
    description: 'Keys of the body that were ignored (unknown, as Gaurun ignored them); absent when none.',
    example: ['notifications[0].data_while_idle: unknown key, ignored'],
  })
  readonly warnings?: string[];

  constructor(count: number, requestId: string, results?: PushResultDto[], extra: { skipped?: number; warnings?: string[] } = {}) {
    this.count = count;
    this.request_id = requestId;
    if (results) this.results = results;
    if (extra.skipped) this.skipped = extra.skipped;
    if (extra.warnings?.length) this.warnings = extra.warnings;
  }
}

/** What is known of one request, while it is remembered. */
export class PushRequestStatusDto {
  @ApiProperty({ example: 'fSfFwgfS-r1a' })
  readonly request_id!: string;

  @ApiProperty({ example: '2026-11-27T14:40:13.593Z', description: 'When the request was accepted.' })
  readonly accepted_at!: string;

  @ApiProperty({ type: 'integer', example: 3, description: 'Pushes the request queued (one per token).' })
  readonly queued!: number;

  @ApiProperty({ type: 'integer', example: 1 })
  readonly succeeded!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Failed pushes by reason.',
    example: { BadDeviceToken: 1 },
  })
  readonly failed!: Record<string, number>;

  @ApiProperty({ type: 'integer', example: 1, description: 'Pushes not finished yet (queued, being sent or waiting for a retry).' })
  readonly pending!: number;

  @ApiProperty({ example: false, description: 'True once every push of the request has ended.' })
  readonly done!: boolean;
}

export class MessageDto {
  @ApiProperty({ example: 'ok' })
  readonly message!: string;
}

export class ValidationErrorDto extends MessageDto {
  @ApiPropertyOptional({ type: [String], example: ['notifications[1].platform: platform must be 1 (iOS) or 2 (Android)'] })
  readonly errors?: string[];
}
