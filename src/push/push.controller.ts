import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '../openapi/openapi.decorators';
import { PUSHER_MAX_LIMIT } from '../config/pushgate.config';
import type { Request, Response } from 'express';
import { sendJson } from '../http/json-response';
import { requestIdOf } from '../http/request-id.middleware';
import { MessageDto, PushAcceptedDto, PushRequestStatusDto, ValidationErrorDto } from './push.dto';
import { PushRequestDto } from '../notification/notification.dto';
import { DEFAULT_RESULTS_LIMITS, PushResults, WAIT_DEFAULT_SECONDS, WAIT_MAX_SECONDS } from './push.results';
import { PushService } from './push.service';
import { PushDispatcher } from './push.dispatcher';

/** `wait` and `timeout` of `POST /push`: milliseconds to wait, or undefined for Gaurun's immediate answer. */
export function waitFromQuery(wait?: string, timeout?: string): number | undefined {
  if (wait !== undefined && !/^(true|false|1|0)$/.test(wait)) throw new BadRequestException({ message: 'wait: expected true or false' });
  if (timeout !== undefined) {
    const seconds = /^\d{1,9}$/.test(timeout) ? Number(timeout) : NaN;
    if (!(seconds >= 1 && seconds <= WAIT_MAX_SECONDS)) {
      throw new BadRequestException({ message: `timeout: expected whole seconds from 1 to ${WAIT_MAX_SECONDS}` });
    }
  }
  if (wait !== 'true' && wait !== '1') return undefined;
  return (timeout === undefined ? WAIT_DEFAULT_SECONDS : Number(timeout)) * 1000;
}

@ApiTags('push')
@Controller()
export class PushController {
  constructor(
    private readonly push: PushService,
    private readonly dispatcher: PushDispatcher,
    private readonly results: PushResults,
  ) {}

  @Post('push')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Queue pushes',
    description:
      'Queues every token of every notification as one push, all or nothing. The body is read as JSON whatever the ' +
      'Content-Type says. With `wait=true` the answer comes once every push has ended (or `timeout` has passed) and ' +
      "lists every token's result.",
  })
  @ApiBody({ type: PushRequestDto })
  @ApiQuery({ name: 'wait', required: false, enum: ['true', 'false'], description: "Answer with every token's result.", example: 'true' })
  @ApiQuery({
    name: 'timeout',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: WAIT_MAX_SECONDS, default: WAIT_DEFAULT_SECONDS },
    description: 'Seconds to wait at most with `wait=true`; results not known by then are `pending`.',
    example: 10,
  })
  @ApiOkResponse({ type: PushAcceptedDto, description: 'Queued.' })
  @ApiBadRequestResponse({ type: ValidationErrorDto, description: 'Invalid request; nothing was queued.' })
  @ApiPayloadTooLargeResponse({ type: MessageDto, description: 'Body over `core.body_limit`.' })
  @ApiServiceUnavailableResponse({
    type: MessageDto,
    description:
      'Queue full, memory budget (core.memory_budget) exceeded, access log (the recovery journal) cannot be written, or shutting down; nothing was queued.',
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before retrying (queue full, access log failing).',
        schema: { type: 'integer', example: 1 },
      },
    },
  })
  async accept(@Body() request: PushRequestDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    // The query and the request id read here rather than by parameter decorators: each of those is resolved through
    // the global pipe (three promises apiece) and re-parses the query string, on the route every push request takes.
    // Answered here rather than by Nest's `res.json`, for the same reason.
    const query = req.query as { wait?: string; timeout?: string };
    sendJson(res, 200, await this.push.accept(request, waitFromQuery(query.wait, query.timeout), requestIdOf(res)));
  }

  @Get('push/:id')
  @ApiOperation({
    summary: 'Outcome counts of one request',
    description: `Answers for ${DEFAULT_RESULTS_LIMITS.ttlMs / 60_000} minutes after the request was accepted (and for the ${DEFAULT_RESULTS_LIMITS.maxRequests} most recent requests).`,
  })
  @ApiParam({ name: 'id', description: 'The `request_id` of a `POST /push` answer.', example: 'fSfFwgfS-r1a' })
  @ApiOkResponse({ type: PushRequestStatusDto })
  @ApiNotFoundResponse({ type: MessageDto, description: 'Unknown or no longer remembered.' })
  status(@Param('id') id: string): PushRequestStatusDto {
    const status = this.results.status(id);
    if (!status) throw new NotFoundException({ message: `unknown request id ${JSON.stringify(id)} (expired or never issued here)` });
    return status;
  }

  @Put('config/pushers')
  @HttpCode(200)
  @ApiTags('config')
  @ApiOperation({ summary: 'Change the send concurrency', description: 'Concurrency becomes `core.workers x (max + 1)`.' })
  @ApiQuery({ name: 'max', required: true, schema: { type: 'integer', minimum: 0 }, example: 255 })
  @ApiOkResponse({ type: MessageDto })
  @ApiBadRequestResponse({ type: MessageDto, description: '`{"message":"malformed value"}` for a missing, non-integer or negative max.' })
  setPushers(@Query('max') max?: string): { message: string } {
    if (max === undefined || !/^\d{1,9}$/.test(max) || Number(max) > PUSHER_MAX_LIMIT)
      throw new BadRequestException({ message: 'malformed value' });
    this.dispatcher.setPusherMax(Number(max));
    return { message: 'ok' };
  }
}
