import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ProviderClientsHealthIndicator } from '../health/provider-clients.health';
import { Readiness } from '../health/readiness';
import type { FcmClient } from './fcm.client';
import { FcmService } from './fcm.service';

/** Ready when every app's FCM client is configured and open and its transport thread runs; never depends on reaching Google. */
@Injectable()
@Readiness()
export class FcmHealthIndicator extends ProviderClientsHealthIndicator<FcmClient> {
  constructor(health: HealthIndicatorService, fcm: FcmService) {
    super('fcm', health, fcm, (client) => ({ project: client.projectId }));
  }
}
