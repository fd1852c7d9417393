import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '../openapi/openapi.decorators';
import { effectiveConfig } from '../cli/check-config.command';
import { VERSION } from '../version';
import { AppsSettings, CONFIG_SECTIONS, GORUSH_CONFIG, type ConfigSections, type GorushConfig } from '../config/pushgate.config';
import { PushCounters } from '../push/push.counters';
import { WAIT_MAX_SECONDS } from '../push/push.results';
import { PushDispatcher } from '../push/push.dispatcher';
import { GAURUN_STATS_EXAMPLE } from '../stats/gaurun-stats';
import { RuntimeFigures } from '../stats/runtime.openapi';
import { RuntimeStats } from '../stats/runtime.stats';
import { GorushAppStatsDto, GorushErrorDto, GorushPushAnswerDto, GorushRequestDto, GorushSoundDto } from './gorush.dto';
import { GorushException, GorushPush } from './gorush.push';

/** `true`/`false` (or `1`/`0`) of a query parameter; undefined when absent. */
function flag(name: string, value?: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (!/^(true|false|1|0)$/.test(value)) throw new GorushException(400, `${name}: expected true or false`);
  return value === 'true' || value === '1';
}

/** Gorush's API (`appleboy/gorush`) beside pushgate's own, for clients and dashboards written for Gorush. */
@ApiTags('gorush')
@ApiExtraModels(GorushSoundDto)
@Controller()
export class GorushController {
  constructor(
    @Inject(GORUSH_CONFIG) private readonly settings: GorushConfig,
    @Inject(CONFIG_SECTIONS) private readonly sections: ConfigSections,
    private readonly apps: AppsSettings,
    private readonly gorush: GorushPush,
    private readonly counters: PushCounters,
    private readonly dispatcher: PushDispatcher,
    private readonly runtime: RuntimeStats,
  ) {}

  @Post('api/push')
  @HttpCode(200)
  @ApiOperation({
    summary: "Queue pushes, in Gorush's request format",
    description:
      'The same admission as `POST /push` (validated first, all or nothing). In sync mode (`gorush.sync` or `sync=true`) ' +
      'the answer comes once every push has ended, with every token that did not succeed in `logs`.',
  })
  @ApiBody({ type: GorushRequestDto })
  @ApiQuery({ name: 'sync', required: false, enum: ['true', 'false'], description: 'Overrides `gorush.sync` for this request.' })
  @ApiQuery({
    name: 'timeout',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: WAIT_MAX_SECONDS, default: WAIT_MAX_SECONDS },
    description: 'Sync mode: seconds to wait at most; tokens without a result by then are `pending-push` in `logs`.',
  })
  @ApiOkResponse({ type: GorushPushAnswerDto })
  @ApiBadRequestResponse({ type: GorushErrorDto, description: 'Invalid request; nothing was queued.' })
  @ApiServiceUnavailableResponse({
    type: GorushErrorDto,
    description: 'Queue full, memory budget exceeded or shutting down; nothing was queued.',
  })
  push(@Body() body: unknown, @Query('sync') sync?: string, @Query('timeout') timeout?: string): Promise<GorushPushAnswerDto> {
    const wait = flag('sync', sync) ?? this.settings.sync;
    let seconds = WAIT_MAX_SECONDS;
    if (timeout !== undefined) {
      seconds = /^\d{1,9}$/.test(timeout) ? Number(timeout) : NaN;
      if (!(seconds >= 1 && seconds <= WAIT_MAX_SECONDS))
        throw new GorushException(400, `timeout: expected whole seconds from 1 to ${WAIT_MAX_SECONDS}`);
    }
    return this.gorush.accept(body, wait ? seconds * 1000 : undefined);
  }

  @Get('api/stat/app')
  @ApiOperation({ summary: "Gorush's application counters, from pushgate's" })
  @ApiOkResponse({ type: GorushAppStatsDto })
  appStats(): GorushAppStatsDto {
    const { ios, android, accepted } = this.counters;
    return {
      version: VERSION,
      busy_workers: this.dispatcher.active,
      success_tasks: ios.push_success + android.push_success,
      failure_tasks: ios.push_error + android.push_error,
      submitted_tasks: accepted,
      total_count: accepted,
      ios: { push_success: ios.push_success, push_error: ios.push_error },
      android: { push_success: android.push_success, push_error: android.push_error },
      huawei: { push_success: 0, push_error: 0 },
    };
  }

  @Get('api/stat/go')
  @RuntimeFigures('Runtime figures under the keys of golang-stats-api-handler, as Gorush (and Gaurun) answer them', GAURUN_STATS_EXAMPLE)
  goStats(): Record<string, unknown> {
    return this.runtime.gaurunSnapshot();
  }

  // Express answers HEAD with the GET route, as Gorush registers both.
  @Get('healthz')
  @HttpCode(200)
  @ApiOperation({ summary: "Gorush's heartbeat: 200 with an empty body while the process serves requests" })
  @ApiOkResponse({ description: 'Serving.', content: { 'text/plain': { schema: { type: 'string' }, example: '' } } })
  healthz(): void {}

  @Get('api/config')
  @ApiOperation({ summary: "pushgate's effective configuration, secrets redacted (Gorush answers its own YAML here)" })
  @ApiOkResponse({
    schema: {
      type: 'object',
      additionalProperties: true,
      example: { core: { port: '1056' }, auth: { api_keys: '<redacted>' }, ios: { topic: 'com.example.app' } },
    },
  })
  effectiveConfig(): Record<string, unknown> {
    return effectiveConfig({ ...this.sections, apps: { ...this.apps.current() }, simulator: this.apps.simulator, unknown_keys: [] });
  }
}
