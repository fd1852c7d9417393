import { ApiProperty, ApiPropertyOptional } from '../openapi/openapi.decorators';
import { Transform, Type, type TransformFnParams } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  isNotEmpty,
  isString,
  IsString,
  Max,
  maxLength,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { OptionalBoolean, OptionalInt, OptionalNested, OptionalString, SoundVolume } from './notification.fields';

/** The longest device token accepted, in characters. */
const TOKEN_MAX_LENGTH = 4096;

/** What is wrong with a list of device tokens, in class-validator's words, or undefined when nothing is. */
function tokenProblem(tokens: unknown): string | undefined {
  // Not an array: @IsArray says so.
  if (!Array.isArray(tokens)) return undefined;
  if (!tokens.every((t) => isString(t))) return 'must be a string';
  if (!tokens.every((t) => isNotEmpty(t))) return 'should not be empty';
  // A string no longer than the limit in UTF-16 units is within it in characters too.
  if (!tokens.every((t: string) => t.length <= TOKEN_MAX_LENGTH || maxLength(t, TOKEN_MAX_LENGTH))) {
    return `must be shorter than or equal to ${TOKEN_MAX_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Every device token a non-empty string of at most {@link TOKEN_MAX_LENGTH} characters, as one validator with plain
 * loops and the messages of `@IsString`, `@IsNotEmpty` and `@MaxLength` with `each`. Those three run class-validator's
 * per-value machinery for every token, which allocates: with 1,000 tokens a request, a fifth of its validation.
 */
function AreDeviceTokens(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'areDeviceTokens',
      validator: {
        validate: (value: unknown) => tokenProblem(value) === undefined,
        defaultMessage: (args) => `each value in ${args?.property ?? 'token'} ${tokenProblem(args?.value) ?? 'is invalid'}`,
      },
    },
    options,
  );
}

/** Gaurun's fields were `omitempty`, and Go clients send 0 for what they leave unset: 0 means "not set". */
const zeroUnset = ({ value }: TransformFnParams): unknown => (value === 0 ? undefined : value);

export const PLATFORM_IOS = 1;
export const PLATFORM_ANDROID = 2;
export type Platform = typeof PLATFORM_IOS | typeof PLATFORM_ANDROID;

/** The platforms by name: the name of their configuration section, and how logs, metrics and results call them. */
export const PLATFORMS = { ios: PLATFORM_IOS, android: PLATFORM_ANDROID } as const;
export type PlatformName = keyof typeof PLATFORMS;
const PLATFORM_NAMES: Readonly<Record<Platform, PlatformName>> = { [PLATFORM_IOS]: 'ios', [PLATFORM_ANDROID]: 'android' };

/** The name of a platform in logs, metrics, results and configuration sections. */
export function platformName(platform: Platform): PlatformName {
  return PLATFORM_NAMES[platform];
}

/** A platform given by name or number (`ios`, `1`, `android`, `2`), as a command line or a log line spells it. */
export function parsePlatform(text: string): Platform | undefined {
  if (Object.hasOwn(PLATFORMS, text)) return PLATFORMS[text as PlatformName];
  const platform = Number(text) as Platform;
  return String(platform) === text && Object.hasOwn(PLATFORM_NAMES, platform) ? platform : undefined;
}

export class ExtendDto {
  @ApiProperty({ example: 'deep_link', maxLength: 256 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  readonly key!: string;

  @ApiProperty({ example: 'app://inbox/42', maxLength: 4096 })
  @IsString()
  @MaxLength(4096)
  readonly val!: string;
}

/** iOS: a critical alert sound (`aps.sound` as an object). */
export class CriticalSoundDto {
  @ApiProperty({ type: 'integer', enum: [0, 1], example: 1 })
  @IsIn([0, 1])
  readonly critical!: 0 | 1;

  @OptionalString({ example: 'default', maxLength: 256 }, 256)
  readonly name?: string;

  @SoundVolume()
  readonly volume?: number;
}

export class NotificationDto {
  @ApiProperty({
    description: 'Device tokens; each one becomes a push (at most `core.token_max`).',
    example: ['6f2c1e0a9b1d'],
    type: [String],
  })
  @IsArray()
  @ArrayNotEmpty()
  @AreDeviceTokens()
  readonly token!: string[];

  @ApiProperty({
    description: '1 = iOS (APNs), 2 = Android (FCM).',
    type: 'integer',
    enum: [PLATFORM_IOS, PLATFORM_ANDROID],
    example: PLATFORM_IOS,
  })
  @IsIn([PLATFORM_IOS, PLATFORM_ANDROID], { message: 'platform must be 1 (iOS) or 2 (Android)' })
  readonly platform!: Platform;

  @ApiProperty({
    description: 'iOS: alert body; Android: `data.message`. Empty only with `core.allows_empty_message`.',
    example: 'Hello',
    maxLength: 4096,
  })
  @IsString()
  @MaxLength(4096)
  readonly message!: string;

  @ApiPropertyOptional({
    description:
      'The configured app (`[apps.<name>]`) whose credentials send this notification; absent: the default app (`[ios]` / `[android]`).',
    example: 'brand_b',
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  readonly app?: string;

  @OptionalString({ description: 'Your id, written to the per-push log lines.', example: 'campaign-7' }, 1024)
  readonly identifier?: string;
  @OptionalString({ description: 'iOS: alert title.', example: 'Greetings' }, 1024)
  readonly title?: string;
  @OptionalString({ description: 'iOS: alert subtitle.', example: 'From pushgate' }, 1024)
  readonly subtitle?: string;
  @ApiPropertyOptional({ description: 'iOS: `aps.badge`, sent only when given (0 clears it).', type: 'integer', example: 1, minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2147483647)
  readonly badge?: number;
  @OptionalString({ description: 'iOS: `aps.category`.', example: 'MESSAGE' }, 256)
  readonly category?: string;
  @OptionalString({ description: 'iOS: `aps.sound`.', example: 'default' }, 256)
  readonly sound?: string;
  @OptionalBoolean({ description: 'iOS: `aps.content-available: 1`.', example: false })
  readonly content_available?: boolean;
  @OptionalBoolean({ description: 'iOS: `aps.mutable-content: 1`.', example: false })
  readonly mutable_content?: boolean;
  @ApiPropertyOptional({
    description: 'iOS: seconds until `apns-expiration`; 0 is "not set", as in Gaurun (no header).',
    type: 'integer',
    example: 3600,
    minimum: 0,
    maximum: 31536000,
  })
  @Transform(zeroUnset)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(31536000)
  readonly expiry?: number;
  @ApiPropertyOptional({
    description: 'iOS: `apns-push-type`; background pushes go with priority 5.',
    enum: ['alert', 'background'],
    example: 'alert',
  })
  @IsOptional()
  @IsIn(['alert', 'background'])
  readonly push_type?: 'alert' | 'background';
  @OptionalString({ description: 'Android: `android.collapse_key`.', example: 'inbox' }, 256)
  readonly collapse_key?: string;
  @OptionalBoolean({ description: 'Android: accepted for compatibility; FCM v1 has no equivalent.', example: false })
  readonly delay_while_idle?: boolean;
  @ApiPropertyOptional({
    description: 'Android: `android.ttl` in seconds; 0 is "not set", as in Gaurun (FCM\'s default TTL).',
    type: 'integer',
    example: 86400,
    minimum: 0,
    maximum: 2419200,
  })
  @Transform(zeroUnset)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2419200)
  readonly time_to_live?: number;
  @ApiPropertyOptional({ description: 'Android: `android.priority`.', enum: ['high', 'normal'], example: 'high' })
  @IsOptional()
  @IsIn(['high', 'normal'])
  readonly priority?: 'high' | 'normal';

  @ApiPropertyOptional({
    description:
      "iOS: `apns-topic` instead of the app's `ios.topic`; only a topic listed in the app's `ios.topics` (or the app's own topic).",
    example: 'com.example.app',
    maxLength: 256,
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  readonly topic?: string;
  @OptionalString({ description: 'iOS: `aps.thread-id`, the group the notification is shown in.', example: 'chat-42' }, 256)
  readonly thread_id?: string;
  @OptionalString({ description: 'iOS: `apns-collapse-id` (at most 64 bytes).', example: 'score-update' }, 64)
  readonly collapse_id?: string;
  @OptionalNested(CriticalSoundDto, { description: 'iOS: `aps.sound` as a critical alert sound; takes the place of `sound`.' })
  readonly critical_sound?: CriticalSoundDto;
  @OptionalBoolean({
    description: 'Android: send `title`, `message` and `image` as the FCM `notification` (shown by the system) instead of `data.message`.',
    example: false,
  })
  readonly fcm_notification?: boolean;
  @OptionalString(
    {
      description: 'Android, with `fcm_notification`: `notification.image`, an https URL.',
      example: 'https://example.com/a.png',
    },
    2048,
  )
  readonly image?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Custom keys, JSON values: iOS: at the payload root beside `aps`, as given; Android: in `data`, strings as they are and other values JSON-encoded.',
    example: { deep_link: 'app://inbox/42' },
  })
  @IsOptional()
  @IsObject()
  readonly data?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'iOS: keys at the payload root beside `aps`; Android: merged into `data`.',
    type: [ExtendDto],
    maxItems: 100,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsObject({ each: true, message: 'extend must be an array of {"key", "val"} objects' })
  @ValidateNested({ each: true })
  @Type(() => ExtendDto)
  readonly extend?: ExtendDto[];

  @OptionalInt({ type: 'integer', description: "Gaurun's retry count: accepted for compatibility and ignored.", example: 0 })
  readonly retry?: number;
  @ApiPropertyOptional({
    type: 'integer',
    description: "Gaurun's push id: accepted for compatibility and ignored.",
    example: 0,
    minimum: 0,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  readonly seq_id?: number;
}

export class PushRequestDto {
  @ApiProperty({
    type: [NotificationDto],
    description: 'Every token of every notification becomes one push; the whole request is validated before anything is queued.',
    example: [
      { token: ['6f2c1e0a9b1d'], platform: PLATFORM_IOS, message: 'Hello iOS', title: 'Greetings', badge: 1 },
      { token: ['fcm-registration-token'], platform: PLATFORM_ANDROID, message: 'Hello Android', priority: 'high' },
    ],
  })
  @IsArray({ message: 'empty notification' })
  @ArrayNotEmpty({ message: 'empty notification' })
  // Without it, an array in place of a notification passes nested validation with nothing to validate.
  @IsObject({ each: true, message: 'each notification must be an object' })
  @ValidateNested({ each: true })
  @Type(() => NotificationDto)
  readonly notifications!: NotificationDto[];

  /** Keys of the body that were ignored, each as `path: unknown key, ignored`; set by the validation pipe, not read from the body. */
  declare warnings?: string[];
}
