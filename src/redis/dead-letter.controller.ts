import { Body, Controller, Get, HttpCode, Inject, Post, Query, BadRequestException } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '../openapi/openapi.decorators';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, Matches } from 'class-validator';
import { AdminRoute } from '../auth/auth.decorators';
import { CORE_CONFIG, type CoreConfig } from '../config/pushgate.config';
import { PushJournal } from '../push/push.journal';
import { maskToken } from '../push/push.log';
import { PushDispatcher } from '../push/push.dispatcher';
import { DeadLetterPageDto, ReplayResultDto } from './dead-letter.dto';
import { QueueUnavailableException, RedisPushQueue, type DeadLetter } from './redis.queue';

const LIST_MAX = 1000;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export class ReplayDeadLettersDto {
  @ApiProperty({ type: [String], example: ['1764254413593-0'], description: '`dead_id`s from `GET /queue/dead-letters`.' })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(LIST_MAX)
  @Matches(STREAM_ID, { each: true, message: 'ids: expected dead_id values like 1764254413593-0' })
  readonly ids!: string[];
}

const LETTER_EXAMPLE = {
  dead_id: '1764254413593-0',
  id: 'fSfFwgfS-0-0',
  platform: 1,
  token: '6f2c1e0a...9b1d',
  reason: 'BadDeviceToken',
  failed_at: '2026-11-27T14:40:13.593Z',
  notification: { token: ['6f2c1e0a...9b1d'], platform: 1, message: 'Hello iOS' },
};

/** The pushes that ended failed, kept in Redis for `queue.dead_letter_ttl` seconds, and their replay. */
@ApiTags('queue')
@AdminRoute()
@Controller('queue/dead-letters')
export class DeadLetterController {
  constructor(
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    private readonly queue: RedisPushQueue,
    private readonly dispatcher: PushDispatcher,
    private readonly journal: PushJournal,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Pushes that ended failed, oldest first' })
  @ApiQuery({ name: 'count', required: false, schema: { type: 'integer', minimum: 1, maximum: LIST_MAX, default: 100 } })
  @ApiQuery({ name: 'after', required: false, description: '`next` of the previous page.', example: '1764254413593-0' })
  @ApiOkResponse({ type: DeadLetterPageDto, example: { dead_letters: [LETTER_EXAMPLE], next: '1764254413593-0' } })
  async list(@Query('count') count?: string, @Query('after') after?: string): Promise<{ dead_letters: DeadLetter[]; next?: string }> {
    const n = count === undefined ? 100 : /^\d{1,4}$/.test(count) ? Number(count) : NaN;
    if (!(n >= 1 && n <= LIST_MAX)) throw new BadRequestException({ message: `count: expected 1..${LIST_MAX}` });
    if (after !== undefined && !STREAM_ID.test(after)) throw new BadRequestException({ message: 'after: expected a dead_id' });
    const page = await this.unavailableAsHttp(() => this.queue.deadLetters(n, after));
    const full = this.core.log_full_token;
    const mask = (letter: DeadLetter): DeadLetter =>
      full
        ? letter
        : { ...letter, token: maskToken(letter.token), notification: { ...letter.notification, token: [maskToken(letter.token)] } };
    return { dead_letters: page.items.map(mask), ...(page.next ? { next: page.next } : {}) };
  }

  @Post('replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue chosen dead letters again (all or none); each leaves the dead-letter set' })
  @ApiOkResponse({ type: ReplayResultDto, example: { message: 'ok', count: 1, replayed: ['1764254413593-0'], missing: [] } })
  @ApiBadRequestResponse({ description: 'Malformed ids.' })
  @ApiServiceUnavailableResponse({ description: 'Queue full, Redis unreachable or shutting down; nothing was queued.' })
  async replay(@Body() body: ReplayDeadLettersDto): Promise<{ message: string; count: number; replayed: string[]; missing: string[] }> {
    if (!this.dispatcher.accepting) throw new QueueUnavailableException({ message: 'shutting down' });
    const result = await this.unavailableAsHttp(() => this.queue.replay(body.ids));
    if (!result.admitted)
      throw new QueueUnavailableException({ message: `queue is full (${this.queue.size}/${this.queue.capacity} pushes); retry later` });
    this.journal.replayed(result.replayed.map((l) => ({ dto: l.notification, id: `${l.id}-r0`, replayOf: l.id })));
    this.dispatcher.pump();
    const ids = result.replayed.map((l) => l.dead_id);
    const replayed = new Set(ids);
    return { message: 'ok', count: replayed.size, replayed: ids, missing: body.ids.filter((id) => !replayed.has(id)) };
  }

  private async unavailableAsHttp<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof QueueUnavailableException) throw error;
      throw new QueueUnavailableException({ message: `queue unavailable (Redis): ${(error as Error).message}` });
    }
  }
}
