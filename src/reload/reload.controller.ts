import { BadRequestException, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '../openapi/openapi.decorators';
import { AdminRoute } from '../auth/auth.decorators';
import { ConfigError } from '../config/pushgate.config';
import { ValidationErrorDto } from '../push/push.dto';
import { ReloadService, type ReloadOutcome } from './reload.service';

class ReloadedDto implements ReloadOutcome {
  @ApiProperty({ example: 'ok' }) readonly message!: string;
  @ApiProperty({
    type: [String],
    example: ['default.ios', 'brand_b.android'],
    description: 'Clients replaced: `<app>.ios` / `<app>.android`.',
  })
  readonly reloaded!: string[];
  @ApiProperty({ type: [String], example: ['core.queues'], description: 'Changed keys that take effect only after a restart.' })
  readonly restart_required!: string[];
}

@ApiTags('config')
@AdminRoute()
@Controller('config')
export class ReloadController {
  constructor(private readonly reloader: ReloadService) {}

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reload the provider credentials',
    description:
      'Reads the configuration file and environment again, as SIGHUP does. Apps whose APNs or FCM settings (or credential files) ' +
      'changed get new clients at once; the old ones close after their requests in flight are answered.',
  })
  @ApiOkResponse({ type: ReloadedDto })
  @ApiBadRequestResponse({
    type: ValidationErrorDto,
    description: 'Invalid configuration, or a change that needs a restart; nothing changed.',
  })
  reload(): ReloadedDto {
    try {
      return { message: 'ok', ...this.reloader.reload() };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new BadRequestException({ message: `configuration not reloaded: ${error.problems.join('; ')}`, errors: error.problems });
    }
  }
}
