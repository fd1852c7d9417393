import type { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Transport } from '../transport/threaded.transport';
import type { ReadinessIndicator } from './readiness';

/** What a provider's readiness reads of its service: one client per app, and whether they may be used. */
export interface ProviderClients<C extends { readonly transport: Pick<Transport, 'openSessions' | 'startFailure'> }> {
  readonly clients: ReadonlyMap<string, C>;
  readonly ready: boolean;
}

/**
 * Ready when every app's client of one provider is configured and open and its transport thread runs; never
 * depends on reaching the provider. Each provider names its key and the figure that identifies a client.
 */
export abstract class ProviderClientsHealthIndicator<C extends { readonly transport: Pick<Transport, 'openSessions' | 'startFailure'> }>
  implements ReadinessIndicator
{
  protected constructor(
    private readonly key: string,
    private readonly health: HealthIndicatorService,
    private readonly service: ProviderClients<C>,
    private readonly describe: (client: C) => Record<string, unknown>,
  ) {}

  isReady(): HealthIndicatorResult {
    const indicator = this.health.check(this.key);
    const { clients } = this.service;
    if (clients.size === 0) return indicator.up({ enabled: false });
    // Each app's client, the default app's figures also at the top level as before named apps existed.
    const apps: Record<string, Record<string, unknown>> = {};
    for (const [app, client] of clients) apps[app] = { ...this.describe(client), connections: client.transport.openSessions };
    // A client whose transport thread cannot start would accept pushes it can never send.
    const transport = [...clients.values()].map((c) => c.transport.startFailure).find((f) => f !== undefined);
    if (transport !== undefined) return indicator.down({ ...apps.default, apps, transport: `thread could not start: ${transport}` });
    const details = { ...apps.default, apps };
    return this.service.ready ? indicator.up(details) : indicator.down(details);
  }
}
