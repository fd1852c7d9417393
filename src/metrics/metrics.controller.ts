import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '../openapi/openapi.decorators';
import { Registry } from 'prom-client';
import { MetricsService } from './metrics.service';

const SCRAPE_EXAMPLE = `# HELP pushgate_pushes_total Pushes that ended, by platform, outcome (succeeded, failed) and failure reason.
# TYPE pushgate_pushes_total counter
pushgate_pushes_total{platform="ios",outcome="succeeded",reason=""} 1520
pushgate_pushes_total{platform="android",outcome="failed",reason="UNREGISTERED"} 3
# HELP pushgate_queue_depth Pushes waiting in the queue, including those handed back for another attempt.
# TYPE pushgate_queue_depth gauge
pushgate_queue_depth 0
`;

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics: pushes, retries, latency, queue, APNs credentials, Node.js process' })
  @ApiProduces(Registry.PROMETHEUS_CONTENT_TYPE)
  @ApiOkResponse({
    description: 'The Prometheus text exposition format',
    content: { [Registry.PROMETHEUS_CONTENT_TYPE]: { schema: { type: 'string' }, example: SCRAPE_EXAMPLE } },
  })
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
