import { Controller, Get, HttpCode, NotFoundException, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '../openapi/openapi.decorators';
import { InvalidTokensDto, InvalidTokensQueryDto } from './feedback.dto';
import { FeedbackService } from './feedback.service';

@ApiTags('feedback')
@Controller('feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackService) {}

  @Get('invalid-tokens')
  @HttpCode(200)
  @ApiOperation({ summary: 'Recent device tokens that APNs or FCM declared dead, for backends that poll instead of taking the webhook' })
  @ApiOkResponse({
    description: 'The dead tokens still in the history (feedback.history_size), oldest first',
    type: InvalidTokensDto,
    example: {
      invalid_tokens: [
        {
          token: 'f3b2c1d0e9a8...',
          platform: 'ios',
          reason: 'Unregistered',
          timestamp: '2026-11-27T14:40:13.609Z',
          identifier: 'campaign-42',
        },
        { token: 'dQw4w9WgXcQ:APA91b...', platform: 'android', reason: 'UNREGISTERED', timestamp: '2026-11-27T14:40:14.120Z' },
      ],
    },
  })
  @ApiNotFoundResponse({ description: 'The history is turned off (feedback.history_size = 0)' })
  invalidTokens(@Query() query: InvalidTokensQueryDto): InvalidTokensDto {
    const { history } = this.feedback;
    if (history.capacity === 0) throw new NotFoundException({ message: 'invalid-token history is off (feedback.history_size = 0)' });
    const since = query.since === undefined ? undefined : Date.parse(query.since);
    return { invalid_tokens: history.list(since, query.limit) };
  }
}
