import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export const PLATFORM_IOS = 1;
export const PLATFORM_ANDROID = 2;
export type Platform = typeof PLATFORM_IOS | typeof PLATFORM_ANDROID;

export class ExtendDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  readonly key!: string;

  @IsString()
  @MaxLength(4096)
  readonly val!: string;
}

export class NotificationDto {
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(4096, { each: true })
  readonly token!: string[];

  @IsIn([PLATFORM_IOS, PLATFORM_ANDROID], { message: 'platform must be 1 (iOS) or 2 (Android)' })
  readonly platform!: Platform;

  @IsString()
  @MaxLength(4096)
  readonly message!: string;

  @IsOptional() @IsString() @MaxLength(1024) readonly identifier?: string;
  @IsOptional() @IsString() @MaxLength(1024) readonly title?: string;
  @IsOptional() @IsString() @MaxLength(1024) readonly subtitle?: string;
  @IsOptional() @IsInt() @Min(0) @Max(2147483647) readonly badge?: number;
  @IsOptional() @IsString() @MaxLength(256) readonly category?: string;
  @IsOptional() @IsString() @MaxLength(256) readonly sound?: string;
  @IsOptional() @IsBoolean() readonly content_available?: boolean;
  @IsOptional() @IsBoolean() readonly mutable_content?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(31536000) readonly expiry?: number;
  @IsOptional() @IsIn(['alert', 'background']) readonly push_type?: 'alert' | 'background';
  @IsOptional() @IsString() @MaxLength(256) readonly collapse_key?: string;
  @IsOptional() @IsBoolean() readonly delay_while_idle?: boolean;
  @IsOptional() @IsInt() @Min(0) @Max(2419200) readonly time_to_live?: number;
  @IsOptional() @IsIn(['high', 'normal']) readonly priority?: 'high' | 'normal';

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => ExtendDto)
  readonly extend?: ExtendDto[];
}

export class PushRequestDto {
  @IsArray({ message: 'empty notification' })
  @ArrayNotEmpty({ message: 'empty notification' })
  @ValidateNested({ each: true })
  @Type(() => NotificationDto)
  readonly notifications!: NotificationDto[];
}

export class PushAcceptedDto {
  readonly message = 'ok';
  constructor(
    /** Pushes queued by this request (one per token). */
    readonly count: number,
  ) {}
}
