import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { FcmService } from './fcm.service';

/** Ready when the FCM client is configured and open; never depends on reaching Google. */
@Injectable()
export class FcmHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly fcm: FcmService,
  ) {}

  isReady(key = 'fcm'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const client = this.fcm.client;
    if (!client) return indicator.up({ enabled: false });
    const details = { project: client.projectId, connections: client.transport.openSessions };
    return this.fcm.ready ? indicator.up(details) : indicator.down(details);
  }
}
