import { ApiProperty, ApiPropertyOptional } from '../openapi/openapi.decorators';
import { NotificationDto } from '../notification/notification.dto';

/** A push that ended failed, as `GET /queue/dead-letters` lists it. */
export class DeadLetterDto {
  @ApiProperty({ example: '1764254413593-0', description: 'Id of the dead letter, for the replay.' })
  readonly dead_id!: string;

  @ApiProperty({ example: 'fSfFwgfS-0-0', description: 'The push id it had.' })
  readonly id!: string;

  @ApiProperty({ type: 'integer', enum: [1, 2], example: 1 })
  readonly platform!: number;

  @ApiProperty({ example: '6f2c1e0a...9b1d', description: 'Masked unless core.log_full_token is set.' })
  readonly token!: string;

  @ApiProperty({ example: 'BadDeviceToken' })
  readonly reason!: string;

  @ApiProperty({ example: '2026-11-27T14:40:13.593Z' })
  readonly failed_at!: string;

  @ApiProperty({ type: NotificationDto })
  readonly notification!: NotificationDto;
}

/** One page of dead letters. */
export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] })
  readonly dead_letters!: DeadLetterDto[];

  @ApiPropertyOptional({ example: '1764254413593-0', description: '`after` for the next page; absent on the last one.' })
  readonly next?: string;
}

/** The answer of a replay. */
export class ReplayResultDto {
  @ApiProperty({ type: String, example: 'ok' })
  readonly message!: string;

  @ApiProperty({ type: 'integer', example: 1, description: 'Pushes queued again.' })
  readonly count!: number;

  @ApiProperty({ type: [String], example: ['1764254413593-0'] })
  readonly replayed!: string[];

  @ApiProperty({ type: [String], example: [], description: 'Ids that were not (or no longer) dead letters.' })
  readonly missing!: string[];
}
