import {
  HttpException,
  ForbiddenException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AUTH_CONFIG, DEFAULT_APP, type AuthConfig } from '../config/pushgate.config';
import { ApiKeys } from './auth.keys';

/** Probes must answer whatever the credentials: the kubelet sends none. */
const OPEN_PATHS = new Set(['/health/live', '/health/ready', '/healthz']);

export class TooManyRequestsException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super({ message: `rate limit exceeded; retry after ${retryAfterSeconds} s` }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/** The path the request was routed to, lower-cased and without a trailing slash. */
function routePath(req: Request): string {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  const path = typeof route === 'string' ? route : req.path;
  return path.toLowerCase().replace(/(.)\/+$/, '$1');
}

/** The bearer credential, or undefined when the header is missing or of another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Metadata set by `AdminRoute()`. */
export const ADMIN_ROUTE = 'pushgate:admin-route';

export const ADMIN_WITHOUT_KEYS =
  'administration needs API keys: set auth.api_keys or auth.api_keys_path (or auth.anonymous_admin = true to let anyone)';

/**
 * Global guard: with `auth.api_keys`/`auth.api_keys_path` set, every route but the health probes (and, unless
 * `auth.protect_stats`, `/stat/*` and `/metrics`) needs `Authorization: Bearer <key>`; with `auth.rate_limit`
 * each key (or client address, without keys) gets that many requests per second; a client address that presents
 * more than `auth.failed_key_limit` wrong keys in a minute gets 429 until the minute is over. Without keys,
 * {@link AdminRoute} routes answer 403 unless `auth.anonymous_admin`.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnApplicationBootstrap {
  private readonly logger = new Logger(ApiKeyGuard.name);
  private readonly limiter?: RateLimiterMemory;
  private readonly failures?: RateLimiterMemory;
  private readonly protectStats: boolean;
  private readonly anonymousAdmin: boolean;

  constructor(
    @Inject(AUTH_CONFIG) auth: AuthConfig,
    private readonly keys: ApiKeys,
    private readonly reflector: Reflector,
  ) {
    this.protectStats = auth.protect_stats;
    this.anonymousAdmin = auth.anonymous_admin;
    if (auth.rate_limit > 0) this.limiter = new RateLimiterMemory({ points: auth.rate_limit, duration: 1 });
    if (auth.failed_key_limit > 0) this.failures = new RateLimiterMemory({ points: auth.failed_key_limit, duration: 60 });
  }

  onApplicationBootstrap(): void {
    if (this.keys.enabled) return;
    this.logger.warn(
      'no API keys (auth.api_keys, auth.api_keys_path): anyone who reaches the port may push; ' +
        (this.anonymousAdmin
          ? 'auth.anonymous_admin = true lets anyone reload the configuration and read or replay dead letters'
          : 'configuration reload and dead letters answer 403 until keys are set'),
    );
  }

  /** True when the details of a `StatusOnlyForAnonymous` answer are withheld from this request. */
  hidesDetailsFrom(req: Request): boolean {
    if (!this.protectStats || !this.keys.enabled) return false;
    const presented = bearerToken(req.headers.authorization);
    return presented === undefined || this.keys.match(presented) === undefined;
  }

  /** True when this request must present a key. */
  requiresKey(path: string): boolean {
    if (!this.keys.enabled || OPEN_PATHS.has(path)) return false;
    if (!this.protectStats && (path === '/metrics' || path.startsWith('/stat/') || path.startsWith('/api/stat/'))) return false;
    return true;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const admin = this.reflector.getAllAndOverride<boolean | undefined>(ADMIN_ROUTE, [context.getHandler(), context.getClass()]);
    if (admin && !this.keys.enabled && !this.anonymousAdmin) throw new ForbiddenException({ message: ADMIN_WITHOUT_KEYS });
    // Without keys or a rate limit a request has nothing to present and nothing to count: answered without a promise.
    if (!this.keys.enabled && !this.limiter) return true;
    const http = context.switchToHttp();
    return this.check(http.getRequest<Request>(), http.getResponse<Response>());
  }

  private async check(req: Request, res: Response): Promise<boolean> {
    const path = routePath(req);
    const id = await this.authenticate(req, res, path);
    const scope = id === undefined ? undefined : this.keys.scopeOf(id);
    if (scope) this.checkScope(scope, path, req);
    return true;
  }

  /**
   * Checks the key a request to `path` must present and applies the rate limits; throws the 401 or 429 to answer.
   * Returns the id of the key, undefined when the path needs none.
   */
  async authenticate(req: Request, res: Response, path: string): Promise<string | undefined> {
    const address = `ip-${req.socket.remoteAddress ?? ''}`;
    if (!this.requiresKey(path)) {
      if (this.limiter && !OPEN_PATHS.has(path) && !this.keys.enabled) await this.limit(this.limiter, address);
      return undefined;
    }
    const presented = bearerToken(req.headers.authorization);
    // A blocked address gets 429 whatever it presents: answering a right key would let guessing go on.
    if (presented !== undefined && this.failures) await this.refuseWhileBlocked(this.failures, address);
    const id = presented === undefined ? undefined : this.keys.match(presented);
    if (id === undefined) {
      if (presented !== undefined && this.failures) await this.limit(this.failures, address);
      // RFC 6750: no error code when no credential was sent, invalid_token for a wrong one.
      res.setHeader(
        'WWW-Authenticate',
        presented === undefined ? 'Bearer realm="pushgate"' : 'Bearer realm="pushgate", error="invalid_token"',
      );
      throw new UnauthorizedException({
        message: presented === undefined ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key',
      });
    }
    if (this.limiter) await this.limit(this.limiter, id);
    return id;
  }

  /** A key scoped to apps may only push, and only to those apps; the body is already parsed, not yet validated. */
  private checkScope(scope: ReadonlySet<string>, path: string, req: Request): void {
    if ((path !== '/push' && path !== '/api/push') || req.method !== 'POST')
      throw new ForbiddenException({ message: 'this API key may only push (POST /push)' });
    const notifications = (req.body as { notifications?: unknown } | undefined)?.notifications;
    if (!Array.isArray(notifications)) return;
    const refused = new Set<string>();
    for (const n of notifications as unknown[]) {
      const app = typeof n === 'object' && n !== null && 'app' in n ? n.app : DEFAULT_APP;
      const name = typeof app === 'string' ? app : String(app);
      if (!scope.has(name)) refused.add(name);
    }
    if (refused.size > 0)
      throw new ForbiddenException({ message: `this API key may not push to app ${[...refused].map((a) => `"${a}"`).join(', ')}` });
  }

  private async limit(limiter: RateLimiterMemory, who: string): Promise<void> {
    try {
      await limiter.consume(who);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw new TooManyRequestsException(retryAfter(rejection));
      throw rejection;
    }
  }

  private async refuseWhileBlocked(limiter: RateLimiterMemory, who: string): Promise<void> {
    const used = await limiter.get(who);
    if (used && used.consumedPoints >= limiter.points) throw new TooManyRequestsException(retryAfter(used));
  }
}

function retryAfter(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}
