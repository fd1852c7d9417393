import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Readiness, type ReadinessIndicator } from '../health/readiness';
import { ApnsService } from './apns.service';

/** Ready when every app's APNs client is configured and open and its transport thread runs; never depends on reaching Apple. */
@Injectable()
@Readiness()
export class ApnsHealthIndicator implements ReadinessIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly apns: ApnsService,
  ) {}

  isReady(key = 'apns'): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const { clients } = this.apns;
    if (clients.size === 0) return indicator.up({ enabled: false });
    // Each app's client, the default app's figures also at the top level as before named apps existed.
    const apps: Record<string, Record<string, unknown>> = {};
    for (const [app, client] of clients) apps[app] = { auth: client.authKind, connections: client.transport.openSessions };
    // A client whose transport thread cannot start would accept pushes it can never send.
    const transport = [...clients.values()].map((c) => c.transport.startFailure).find((f) => f !== undefined);
    if (transport !== undefined) return indicator.down({ ...apps.default, apps, transport: `thread could not start: ${transport}` });
    const details = { ...apps.default, apps };
    return this.apns.ready ? indicator.up(details) : indicator.down(details);
  }
}
