import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DEFAULT_APP, type CoreConfig } from '../config/pushgate.config';
import type { ProxySettings } from '../transport/http2.transport';
import type { ProviderSettings } from './provider.settings';

/** A provider client as its service keeps it: closed when replaced, after its requests in flight. */
export interface ClosableClient {
  /** The request deadline: how long a retired client must stay open for its requests in flight to end. */
  readonly timeoutMs: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * One long-lived client per app with the provider enabled, replaced on reload without losing the requests in flight
 * of the one it replaces. APNs and FCM each say which section of an app's settings is theirs and how a client is
 * built from it.
 */
export abstract class ProviderClientService<C extends ClosableClient, S extends { readonly enabled: boolean }>
  implements OnModuleInit, OnApplicationShutdown
{
  protected readonly logger = new Logger(this.constructor.name);
  readonly clients = new Map<string, C>();
  /** Replaced clients still answering their requests in flight. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  protected readonly threads: number;
  protected readonly proxy: ProxySettings;

  protected constructor(
    /** The provider's name in log lines. */
    private readonly label: string,
    core: CoreConfig,
    private readonly settings: ProviderSettings,
    private readonly section: (app: ProviderSettings[string]) => S,
  ) {
    this.threads = core.transport_threads;
    this.proxy = { url: core.https_proxy, noProxy: core.no_proxy };
  }

  /**
   * A client for new settings of an app, built before anything is swapped so that a failure changes nothing.
   * Credentials that cannot work throw here, naming the setting, rather than failing every push later.
   */
  abstract build(settings: S, app?: string): C;

  /**
   * Builds the clients (and starts their transport) when the application initialises rather than when it is
   * constructed: a start that fails then, on this or another provider's credentials, still closes what was built.
   */
  onModuleInit(): void {
    for (const [name, app] of Object.entries(this.settings)) {
      const settings = this.section(app);
      if (settings.enabled) this.clients.set(name, this.build(settings, name));
    }
  }

  /** The default app's client. */
  get client(): C | undefined {
    return this.clients.get(DEFAULT_APP);
  }

  get ready(): boolean {
    return this.clients.size > 0 && !this.closed;
  }

  /**
   * Makes `client` the app's client for every send from now on; the one it replaces closes once its requests in
   * flight have been answered or have reached their deadline.
   */
  swap(app: string, client: C): void {
    const old = this.clients.get(app);
    this.clients.set(app, client);
    this.swapped(app, client);
    if (!old) return;
    const closing = old.close(old.timeoutMs).then(() => {
      this.retiring.delete(closing);
      this.logger.log(`${this.label} client of app ${app} replaced and closed`);
    });
    this.retiring.add(closing);
  }

  /** What a provider does with a client that has just been put in force. */
  protected swapped(_app: string, _client: C): void {}

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.clients.values()].map((client) => client.close()).concat([...this.retiring]));
    this.logger.log(`${this.label} connections closed`);
  }
}
