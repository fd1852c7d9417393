import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '../openapi/openapi.decorators';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsObject, IsOptional, ValidateBy, ValidateNested, type ValidationOptions } from 'class-validator';
import { OptionalBoolean, OptionalInt, OptionalNested, OptionalString, SoundVolume } from '../notification/notification.fields';

/** Gorush's platform numbers: pushgate sends to the first two. */
export const GORUSH_IOS = 1;
export const GORUSH_ANDROID = 2;
export const GORUSH_HUAWEI = 3;

/** FCM v1 `notification` keys Gorush accepts and does not send (FCM v1 has them in `android.notification`). */
const DROPPED_LIKE_GORUSH = { description: 'Accepted and not sent, as Gorush drops it (FCM v1 has it in `android.notification`).' };
/** Gorush's per-notification APNs environment, which pushgate keeps per app. */
const ONE_APNS_ENVIRONMENT = { description: "Must agree with the app's `ios.sandbox` (one APNs environment per app)." };

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
  @OptionalString({ example: 'Greetings' }, 1024)
  readonly title?: string;

  @OptionalString({ example: 'Hello' }, 4096)
  readonly body?: string;

  @OptionalString({ example: 'From pushgate' }, 1024)
  readonly subtitle?: string;
}

/** Gorush's sound dictionary (a critical alert). */
export class GorushSoundDto {
  @ApiPropertyOptional({ type: 'integer', enum: [0, 1], example: 1 })
  @IsOptional()
  @IsIn([0, 1])
  readonly critical?: 0 | 1;

  @OptionalString({ example: 'default' }, 256)
  readonly name?: string;

  @SoundVolume()
  readonly volume?: number;
}

/** FCM v1 `notification` as Gorush passes it on. */
export class GorushFcmNotificationDto {
  @OptionalString({ example: 'Greetings' }, 1024)
  readonly title?: string;

  @OptionalString({ example: 'Hello' }, 4096)
  readonly body?: string;

  @OptionalString({ example: 'https://example.com/a.png' }, 2048)
  readonly image?: string;

  @OptionalString(DROPPED_LIKE_GORUSH)
  readonly icon?: string;

  @OptionalString(DROPPED_LIKE_GORUSH)
  readonly color?: string;
}

/** FCM v1 `android` as Gorush passes it on: the keys pushgate sends. */
export class GorushAndroidDto {
  @OptionalString({ example: 'inbox' }, 256)
  readonly collapse_key?: string;

  @ApiPropertyOptional({ enum: ['high', 'normal'], example: 'high' })
  @IsOptional()
  @IsIn(['high', 'normal'])
  readonly priority?: 'high' | 'normal';

  @OptionalString({ description: 'Seconds with an `s` suffix, as FCM writes durations.', example: '3600s' }, 32)
  readonly ttl?: string;
}

/** One notification in Gorush's request format (`appleboy/gorush`, `notify.PushNotification`). */
export class GorushNotificationDto {
  @ApiProperty({ type: [String], example: ['6f2c1e0a9b1d'] })
  @IsOptional()
  @IsArray()
  readonly tokens?: unknown[];

  @OptionalString({ description: 'One more token, appended to `tokens`.' })
  readonly to?: string;

  @ApiProperty({
    type: 'integer',
    description: '1 = iOS, 2 = Android (3 = Huawei is refused).',
    enum: [GORUSH_IOS, GORUSH_ANDROID, GORUSH_HUAWEI],
  })
  @IsInt()
  readonly platform!: number;

  @OptionalString({ example: 'Hello' })
  readonly message?: string;

  @OptionalString({ example: 'Greetings' })
  readonly title?: string;

  @OptionalString({ description: 'iOS: `apns-topic` (see `ios.topics`); Android: FCM topic messages are refused.' })
  readonly topic?: string;

  @OptionalString({ example: 'https://example.com/a.png' })
  readonly image?: string;

  @ApiPropertyOptional({ enum: ['high', 'normal'] })
  @IsOptional()
  @IsIn(['high', 'normal'])
  readonly priority?: 'high' | 'normal';

  @OptionalBoolean()
  readonly content_available?: boolean;

  @OptionalBoolean()
  readonly mutable_content?: boolean;

  @ApiPropertyOptional({ oneOf: [{ type: 'string' }, { $ref: getSchemaPath(GorushSoundDto) }] })
  @IsOptional()
  @IsSound()
  readonly sound?: string | GorushSoundDto;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { deep_link: 'app://inbox/42' } })
  @IsOptional()
  @IsObject()
  readonly data?: Record<string, unknown>;

  @OptionalInt({ type: 'integer', description: "Accepted; the app's `retry_max` applies." })
  readonly retry?: number;

  @OptionalString({ description: 'Your id: `identifier` in the push log lines, `notif_id` in `logs`.' })
  readonly notif_id?: string;

  @OptionalNested(GorushFcmNotificationDto)
  readonly notification?: GorushFcmNotificationDto;

  @OptionalNested(GorushAndroidDto)
  readonly android?: GorushAndroidDto;

  @OptionalInt({ type: 'integer', description: 'iOS: absolute `apns-expiration` (Unix seconds).' })
  readonly expiration?: number;

  @OptionalString({ description: 'Accepted; pushgate sends its own `apns-id` per push, the same on every attempt.' })
  readonly apns_id?: string;

  @OptionalString()
  readonly collapse_id?: string;

  @OptionalString({ enum: ['alert', 'background'] })
  readonly push_type?: string;

  @OptionalInt({ type: 'integer' })
  readonly badge?: number;

  @OptionalString()
  readonly category?: string;

  @OptionalString({ description: "Gorush's spelling of `aps.thread-id`." })
  readonly 'thread-id'?: string;

  @OptionalString({ description: 'The same as `thread-id`.' })
  readonly thread_id?: string;

  @OptionalNested(GorushAlertDto)
  readonly alert?: GorushAlertDto;

  @OptionalBoolean(ONE_APNS_ENVIRONMENT)
  readonly production?: boolean;

  @OptionalBoolean(ONE_APNS_ENVIRONMENT)
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

class GorushPlatformStatsDto {
  @ApiProperty({ type: 'integer', example: 120 }) readonly push_success!: number;
  @ApiProperty({ type: 'integer', example: 3 }) readonly push_error!: number;
}

/** Gorush's `status.App`, filled from pushgate's counters. */
export class GorushAppStatsDto {
  @ApiProperty({ example: '0.1.0' }) readonly version!: string;
  @ApiProperty({ type: 'integer', example: 0, description: 'Sends in flight.' }) readonly busy_workers!: number;
  @ApiProperty({ type: 'integer', example: 120, description: 'Pushes that succeeded.' }) readonly success_tasks!: number;
  @ApiProperty({ type: 'integer', example: 3, description: 'Pushes that failed for good.' }) readonly failure_tasks!: number;
  @ApiProperty({ type: 'integer', example: 123, description: 'Pushes accepted.' }) readonly submitted_tasks!: number;
  @ApiProperty({ type: 'integer', example: 123, description: 'Pushes accepted (one per token).' }) readonly total_count!: number;
  @ApiProperty({ type: GorushPlatformStatsDto }) readonly ios!: GorushPlatformStatsDto;
  @ApiProperty({ type: GorushPlatformStatsDto }) readonly android!: GorushPlatformStatsDto;
  @ApiProperty({ type: GorushPlatformStatsDto, description: 'Always zero: pushgate does not send to Huawei.' })
  readonly huawei!: GorushPlatformStatsDto;
}
