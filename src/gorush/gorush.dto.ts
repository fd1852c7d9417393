import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';

/** Gorush's platform numbers: pushgate sends to the first two. */
export const GORUSH_IOS = 1;
export const GORUSH_ANDROID = 2;
export const GORUSH_HUAWEI = 3;

/** A string, or Gorush's sound dictionary `{critical, name, volume}`. */
function IsSound(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSound',
      validator: {
        validate: (value: unknown) => typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value)),
        defaultMessage: (args) => `${args?.property ?? 'sound'} must be a string or an object {critical, name, volume}`,
      },
    },
    options,
  );
}

/** Gorush's `alert` dictionary: the keys pushgate sends. */
export class GorushAlertDto {
  @ApiPropertyOptional({ example: 'Greetings' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  readonly title?: string;

  @ApiPropertyOptional({ example: 'Hello' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  readonly body?: string;

  @ApiPropertyOptional({ example: 'From pushgate' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  readonly subtitle?: string;
}

/** Gorush's sound dictionary (a critical alert). */
export class GorushSoundDto {
  @ApiPropertyOptional({ type: 'integer', enum: [0, 1], example: 1 })
  @IsOptional()
  @IsIn([0, 1])
  readonly critical?: 0 | 1;

  @ApiPropertyOptional({ example: 'default' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  readonly name?: string;

  @ApiPropertyOptional({ type: 'number', format: 'float', example: 1, minimum: 0, maximum: 1 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  readonly volume?: number;
}

/** FCM v1 `notification` as Gorush passes it on. */
export class GorushFcmNotificationDto {
  @ApiPropertyOptional({ example: 'Greetings' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  readonly title?: string;

  @ApiPropertyOptional({ example: 'Hello' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  readonly body?: string;

  @ApiPropertyOptional({ example: 'https://example.com/a.png' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  readonly image?: string;

  @ApiPropertyOptional({ description: 'Accepted and not sent, as Gorush drops it (FCM v1 has it in `android.notification`).' })
  @IsOptional()
  @IsString()
  readonly icon?: string;

  @ApiPropertyOptional({ description: 'Accepted and not sent, as Gorush drops it (FCM v1 has it in `android.notification`).' })
  @IsOptional()
  @IsString()
  readonly color?: string;
}

/** FCM v1 `android` as Gorush passes it on: the keys pushgate sends. */
export class GorushAndroidDto {
  @ApiPropertyOptional({ example: 'inbox' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  readonly collapse_key?: string;

  @ApiPropertyOptional({ enum: ['high', 'normal'], example: 'high' })
  @IsOptional()
  @IsIn(['high', 'normal'])
  readonly priority?: 'high' | 'normal';

  @ApiPropertyOptional({ description: 'Seconds with an `s` suffix, as FCM writes durations.', example: '3600s' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  readonly ttl?: string;
}

/** One notification in Gorush's request format (`appleboy/gorush`, `notify.PushNotification`). */
export class GorushNotificationDto {
  @ApiProperty({ type: [String], example: ['6f2c1e0a9b1d'] })
  @IsOptional()
  @IsArray()
  readonly tokens?: unknown[];

  @ApiPropertyOptional({ description: 'One more token, appended to `tokens`.' })
  @IsOptional()
  @IsString()
  readonly to?: string;

  @ApiProperty({
    type: 'integer',
    description: '1 = iOS, 2 = Android (3 = Huawei is refused).',
    enum: [GORUSH_IOS, GORUSH_ANDROID, GORUSH_HUAWEI],
  })
  @IsInt()
  readonly platform!: number;

  @ApiPropertyOptional({ example: 'Hello' })
  @IsOptional()
  @IsString()
  readonly message?: string;

  @ApiPropertyOptional({ example: 'Greetings' })
  @IsOptional()
  @IsString()
  readonly title?: string;

  @ApiPropertyOptional({ description: 'iOS: `apns-topic` (see `ios.topics`); Android: FCM topic messages are refused.' })
  @IsOptional()
  @IsString()
  readonly topic?: string;

  @ApiPropertyOptional({ example: 'https://example.com/a.png' })
  @IsOptional()
  @IsString()
  readonly image?: string;

  @ApiPropertyOptional({ enum: ['high', 'normal'] })
  @IsOptional()
  @IsIn(['high', 'normal'])
  readonly priority?: 'high' | 'normal';

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  readonly content_available?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  readonly mutable_content?: boolean;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { $ref: getSchemaPath(GorushSoundDto) }] })
  @IsOptional()
  @IsSound()
  readonly sound?: string | GorushSoundDto;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { deep_link: 'app://inbox/42' } })
  @IsOptional()
  @IsObject()
  readonly data?: Record<string, unknown>;

  @ApiPropertyOptional({ type: 'integer', description: "Accepted; the app's `retry_max` applies." })
  @IsOptional()
  @IsInt()
  readonly retry?: number;

  @ApiPropertyOptional({ description: 'Your id: `identifier` in the push log lines, `notif_id` in `logs`.' })
  @IsOptional()
  @IsString()
  readonly notif_id?: string;

  @ApiPropertyOptional({ type: GorushFcmNotificationDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GorushFcmNotificationDto)
  readonly notification?: GorushFcmNotificationDto;

  @ApiPropertyOptional({ type: GorushAndroidDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GorushAndroidDto)
  readonly android?: GorushAndroidDto;

  @ApiPropertyOptional({ type: 'integer', description: 'iOS: absolute `apns-expiration` (Unix seconds).' })
  @IsOptional()
  @IsInt()
  readonly expiration?: number;

  @ApiPropertyOptional({ description: 'Accepted; pushgate sends its own `apns-id` per push, the same on every attempt.' })
  @IsOptional()
  @IsString()
  readonly apns_id?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  readonly collapse_id?: string;

  @ApiPropertyOptional({ enum: ['alert', 'background'] })
  @IsOptional()
  @IsString()
  readonly push_type?: string;

  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  readonly badge?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  readonly category?: string;

  @ApiPropertyOptional({ description: "Gorush's spelling of `aps.thread-id`." })
  @IsOptional()
  @IsString()
  readonly 'thread-id'?: string;

  @ApiPropertyOptional({ description: 'The same as `thread-id`.' })
  @IsOptional()
  @IsString()
  readonly thread_id?: string;

  @ApiPropertyOptional({ type: GorushAlertDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => GorushAlertDto)
  readonly alert?: GorushAlertDto;

  @ApiPropertyOptional({ description: "Must agree with the app's `ios.sandbox` (one APNs environment per app)." })
  @IsOptional()
  @IsBoolean()
  readonly production?: boolean;

  @ApiPropertyOptional({ description: "Must agree with the app's `ios.sandbox` (one APNs environment per app)." })
  @IsOptional()
  @IsBoolean()
  readonly development?: boolean;
}

export class GorushRequestDto {
  @ApiProperty({ type: [GorushNotificationDto] })
  @IsArray()
  @IsObject({ each: true, message: 'each notification must be an object' })
  @ValidateNested({ each: true })
  @Type(() => GorushNotificationDto)
  readonly notifications!: GorushNotificationDto[];
}

/** One token that did not succeed, as Gorush's `logx.LogPushEntry`. */
export class GorushLogDto {
  @ApiPropertyOptional({ example: 'campaign-7' })
  readonly notif_id?: string;

  @ApiProperty({ enum: ['failed-push', 'pending-push'], example: 'failed-push' })
  readonly type!: 'failed-push' | 'pending-push';

  @ApiProperty({ enum: ['ios', 'android'], example: 'ios' })
  readonly platform!: 'ios' | 'android';

  @ApiProperty({ example: '6f2c1e0a9b1d' })
  readonly token!: string;

  @ApiProperty({ example: 'Hello' })
  readonly message!: string;

  @ApiProperty({ example: 'BadDeviceToken' })
  readonly error!: string;
}

export class GorushPushAnswerDto {
  @ApiProperty({ type: 'integer', example: 2, description: 'Pushes queued (one per token).' })
  readonly counts!: number;

  @ApiProperty({ type: [GorushLogDto], description: 'In sync mode, every token that did not succeed; otherwise empty.' })
  readonly logs!: GorushLogDto[];

  @ApiProperty({ example: 'ok' })
  readonly success!: 'ok';
}

export class GorushErrorDto {
  @ApiProperty({ type: 'integer', example: 400 })
  readonly code!: number;

  @ApiProperty({ example: 'Notifications field is empty.' })
  readonly message!: string;

  @ApiProperty({ example: 'fSfFwgfS-r1a', description: "The request's id, as in its `X-Request-Id` header." })
  readonly request_id!: string;
}
