import { Controller, Get, Inject, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '../openapi/openapi.decorators';
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { StatusOnlyForAnonymous } from '../auth/auth.decorators';
import { LivenessDto, ReadinessDto } from './health.dto';
import { Readiness, type ReadinessIndicator } from './readiness';

type HostModule = NonNullable<ReturnType<DiscoveryService['getProviders']>[number]['host']>;

const HEALTH_UP = {
  status: 'ok',
  info: { queue: { status: 'up', usage: 0, max: 8192 } },
  error: {},
  details: { queue: { status: 'up', usage: 0, max: 8192 } },
};
const HEALTH_DOWN = {
  status: 'error',
  info: {},
  error: { queue: { status: 'down', usage: 7500, max: 8192, reason: 'queue above high-water mark' } },
  details: { queue: { status: 'down', usage: 7500, max: 8192, reason: 'queue above high-water mark' } },
};

@ApiTags('health')
@Controller('health')
export class HealthController implements OnModuleInit {
  private checks: HealthIndicatorFunction[] = [];

  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    private readonly discovery: DiscoveryService,
    private readonly modules: ModulesContainer,
  ) {}

  /**
   * Every contributed indicator, in the order the application composes their modules: depth first from the root,
   * each module's imports in the order it lists them.
   */
  onModuleInit(): void {
    const order = new Map<HostModule, number>();
    const visit = (module: HostModule): void => {
      if (order.has(module)) return;
      order.set(module, order.size);
      for (const imported of module.imports) visit(imported);
    };
    for (const module of this.modules.values()) visit(module);
    this.checks = this.discovery
      .getProviders({ metadataKey: Readiness.KEY })
      .sort((a, b) => order.get(a.host!)! - order.get(b.host!)!)
      .map((wrapper) => {
        const indicator = wrapper.instance as ReadinessIndicator;
        return () => indicator.isReady();
      });
  }

  /**
   * The process is alive and its event loop answers. It never depends on Apple, Google or any other service, and
   * stays 200 while the gateway drains on shutdown (Terminus answers 503 to every check from then on).
   */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers; never depends on APNs, FCM or anything else' })
  @ApiOkResponse({ type: LivenessDto })
  live(): { status: 'ok'; info: { process: { status: 'up'; uptime_seconds: number } } } {
    return { status: 'ok', info: { process: { status: 'up', uptime_seconds: Math.round(process.uptime()) } } };
  }

  /** Able to accept now: every indicator the application's modules contribute is up. */
  @Get('ready')
  @StatusOnlyForAnonymous()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: clients configured, queue below 90% of its capacity, not shutting down' })
  @ApiOkResponse({ type: ReadinessDto, example: HEALTH_UP })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, example: HEALTH_DOWN })
  ready(): Promise<HealthCheckResult> {
    return this.health.check(this.checks);
  }
}
