import { ApiProperty, ApiPropertyOptional } from '../openapi/openapi.decorators';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';

/** A device token that APNs or FCM declared dead, as the webhook and the history report it. */
export class InvalidTokenDto {
  @ApiProperty({ description: 'The whole device token', example: 'f3b2c1d0e9a8...' })
  readonly token!: string;

  @ApiProperty({ enum: ['ios', 'android'], example: 'ios' })
  readonly platform!: 'ios' | 'android';

  @ApiProperty({ description: 'The app whose credentials sent the push (`default`: `[ios]` / `[android]`)', example: 'default' })
  readonly app!: string;

  @ApiProperty({
    description: 'APNs reason or FCM error code',
    enum: [
      'Unregistered',
      'BadDeviceToken',
      'DeviceTokenNotForTopic',
      'ExpiredToken',
      'UNREGISTERED',
      'SENDER_ID_MISMATCH',
      'INVALID_ARGUMENT',
    ],
    example: 'Unregistered',
  })
  readonly reason!: string;

  @ApiProperty({ description: 'When the provider answered (ISO 8601)', example: '2026-11-27T14:40:13.609Z' })
  readonly timestamp!: string;

  @ApiPropertyOptional({ description: 'The `identifier` of the notification, when it had one', example: 'campaign-42' })
  readonly identifier?: string;
}

export class InvalidTokensDto {
  @ApiProperty({ type: [InvalidTokenDto], description: 'Oldest first' })
  readonly invalid_tokens!: InvalidTokenDto[];
}

export class InvalidTokensQueryDto {
  @ApiPropertyOptional({ description: 'Only tokens reported at or after this time (ISO 8601)', example: '2026-11-27T14:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true })
  readonly since?: string;

  @ApiPropertyOptional({ description: 'At most this many, the oldest first', type: 'integer', minimum: 1, maximum: 1_000_000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  readonly limit?: number;
}
