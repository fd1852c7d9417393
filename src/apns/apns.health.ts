import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { ApnsService } from './apns.service';

/** Ready when the APNs client is configured and open; never depends on reaching Apple. */
@Injectable()
export class ApnsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly apns: ApnsService,
  ) {}

  isReady(key = 'apns'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const client = this.apns.client;
    if (!client) return indicator.up({ enabled: false });
    const details = { auth: client.authKind, connections: client.transport.openSessions };
    return this.apns.ready ? indicator.up(details) : indicator.down(details);
  }
}
