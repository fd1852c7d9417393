import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ProviderClientsHealthIndicator } from '../health/provider-clients.health';
import { Readiness } from '../health/readiness';
import type { GatewayApnsClient } from './apns.client';
import { ApnsService } from './apns.service';

/** Ready when every app's APNs client is configured and open and its transport thread runs; never depends on reaching Apple. */
@Injectable()
@Readiness()
export class ApnsHealthIndicator extends ProviderClientsHealthIndicator<GatewayApnsClient> {
  constructor(health: HealthIndicatorService, apns: ApnsService) {
    super('apns', health, apns, (client) => ({ auth: client.authKind }));
  }
}
