import {
  HttpException,
  ForbiddenException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { DEFAULT_APP, pushgateConfig, type PushgateConfig } from '../config/pushgate.config';
import { ApiKeys } from './auth.keys';

/** Probes must answer whatever the credentials: the kubelet sends none. */
const OPEN_PATHS = new Set(['/health/live', '/health/ready']);

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

/**
 * Global guard: with `auth.api_keys`/`auth.api_keys_path` set, every route but the health probes (and, unless
 * `auth.protect_stats`, `/stat/*` and `/metrics`) needs `Authorization: Bearer <key>`; with `auth.rate_limit`
 * each key (or client address, without keys) gets that many requests per second.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly limiter?: RateLimiterMemory;
  private readonly protectStats: boolean;

  constructor(
    @Inject(pushgateConfig.KEY) config: PushgateConfig,
    private readonly keys: ApiKeys,
  ) {
    this.protectStats = config.auth.protect_stats;
    if (config.auth.rate_limit > 0) this.limiter = new RateLimiterMemory({ points: config.auth.rate_limit, duration: 1 });
  }

  /** True when this request must present a key. */
  requiresKey(path: string): boolean {
    if (!this.keys.enabled || OPEN_PATHS.has(path)) return false;
    if (!this.protectStats && (path === '/metrics' || path.startsWith('/stat/'))) return false;
    return true;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const path = routePath(req);
    if (!this.requiresKey(path)) {
      if (this.limiter && !OPEN_PATHS.has(path) && !this.keys.enabled) await this.limit(`ip-${req.socket.remoteAddress ?? ''}`);
      return true;
    }
    const presented = bearerToken(req.headers.authorization);
    const id = presented === undefined ? undefined : this.keys.match(presented);
    if (id === undefined) {
      // RFC 6750: no error code when no credential was sent, invalid_token for a wrong one.
      http
        .getResponse<Response>()
        .setHeader('WWW-Authenticate', presented === undefined ? 'Bearer realm="pushgate"' : 'Bearer realm="pushgate", error="invalid_token"');
      throw new UnauthorizedException({
        message: presented === undefined ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key',
      });
    }
    if (this.limiter) await this.limit(id);
    const scope = this.keys.scopeOf(id);
    if (scope) this.checkScope(scope, path, req);
    return true;
  }

  /** A key scoped to apps may only push, and only to those apps; the body is already parsed, not yet validated. */
  private checkScope(scope: ReadonlySet<string>, path: string, req: Request): void {
    if (path !== '/push' || req.method !== 'POST') throw new ForbiddenException({ message: 'this API key may only push (POST /push)' });
    const notifications = (req.body as { notifications?: unknown } | undefined)?.notifications;
    if (!Array.isArray(notifications)) return;
    const refused = new Set<string>();
    for (const n of notifications as unknown[]) {
      const app = typeof n === 'object' && n !== null && 'app' in n ? n.app : DEFAULT_APP;
      const name = typeof app === 'string' ? app : String(app);
      if (!scope.has(name)) refused.add(name);
    }
    if (refused.size > 0) throw new ForbiddenException({ message: `this API key may not push to app ${[...refused].map((a) => `"${a}"`).join(', ')}` });
  }

  private async limit(who: string): Promise<void> {
    try {
      await this.limiter!.consume(who);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) throw new TooManyRequestsException(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw rejection;
    }
  }
}
