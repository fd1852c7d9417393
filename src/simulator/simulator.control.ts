import http, { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SIM_PROVIDERS, type SimProvider } from './simulator.faults';
import { SimState } from './simulator.state';

const JSON_HEADERS = { 'content-type': 'application/json' };

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, JSON_HEADERS);
  res.end(JSON.stringify(value));
}

function numberParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : NaN;
}

function providerParam(url: URL): SimProvider | undefined {
  const raw = url.searchParams.get('provider') ?? 'apns';
  return (SIM_PROVIDERS as readonly string[]).includes(raw) ? (raw as SimProvider) : undefined;
}

function rateParam(url: URL, name: string): number | undefined {
  const value = numberParam(url, name);
  return value === undefined || (!Number.isNaN(value) && value <= 1) ? value : NaN;
}

/** Routes under `/faults`; undefined when the route is not one of them. */
function faultRoute(route: string, url: URL, state: SimState): [number, unknown] | undefined {
  const { faults } = state;
  const provider = providerParam(url);
  const bad = (error: string): [number, unknown] => [400, { error }];
  switch (route) {
    case 'GET /faults':
      return [200, faults.snapshot()];
    case 'POST /faults/clear':
      faults.clear();
      return [200, faults.snapshot()];
    case 'POST /faults/goaway':
      if (!provider) return bad('provider must be apns or fcm');
      return [200, { connections: faults.goaway(provider) }];
    case 'POST /faults/break': {
      const status = numberParam(url, 'status') ?? 500;
      if (!provider || (status !== 500 && status !== 503)) return bad('provider must be apns or fcm, status 500 or 503');
      return [200, { connections: faults.breakConnections(provider, status) }];
    }
    case 'POST /faults/stall':
      if (!provider) return bad('provider must be apns or fcm');
      return [200, { connections: faults.stall(provider) }];
    case 'POST /faults/max-streams': {
      const max = numberParam(url, 'max');
      if (!provider || max === undefined || !Number.isInteger(max) || max < 1)
        return bad('provider must be apns or fcm, max a positive integer');
      faults.setMaxConcurrentStreams(provider, max);
      return [200, faults.snapshot()];
    }
    case 'POST /faults/tls': {
      if (!provider) return bad('provider must be apns or fcm');
      faults.failTls(provider, url.searchParams.get('on') !== 'false');
      return [200, faults.snapshot()];
    }
    case 'POST /faults/outage':
      faults.outage(url.searchParams.get('on') !== 'false');
      return [200, faults.snapshot()];
    case 'POST /faults/oauth': {
      const status = numberParam(url, 'status') ?? 503;
      if (Number.isNaN(status) || (status !== 0 && (status < 400 || status > 599))) return bad('status must be 0 or 400..599');
      faults.oauthStatus = status;
      return [200, faults.snapshot()];
    }
    case 'POST /faults/provider-tokens': {
      const maxAge = numberParam(url, 'max_age');
      const minRefresh = numberParam(url, 'min_refresh');
      if (Number.isNaN(maxAge) || Number.isNaN(minRefresh)) return bad('max_age and min_refresh must be non-negative numbers');
      faults.providerTokens = {
        maxAgeSeconds: maxAge ?? faults.providerTokens.maxAgeSeconds,
        minRefreshSeconds: minRefresh ?? faults.providerTokens.minRefreshSeconds,
      };
      return [200, faults.snapshot()];
    }
    case 'POST /faults/quota': {
      const seconds = numberParam(url, 'retry_after');
      if (seconds === undefined || Number.isNaN(seconds)) return bad('retry_after must be a non-negative number');
      faults.quota(seconds);
      return [200, faults.snapshot()];
    }
    case 'POST /faults/fail-next': {
      const code = url.searchParams.get('code');
      const count = numberParam(url, 'count') ?? 1;
      if (!provider || !code || Number.isNaN(count)) return bad('provider must be apns or fcm, code given, count a non-negative number');
      faults.failNext(provider, code, count);
      return [200, faults.snapshot()];
    }
    case 'POST /faults/random': {
      const errorRate = rateParam(url, 'error_rate');
      const timeoutRate = rateParam(url, 'timeout_rate');
      if (Number.isNaN(errorRate) || Number.isNaN(timeoutRate)) return bad('error_rate and timeout_rate must be between 0 and 1');
      faults.random = { errorRate: errorRate ?? faults.random.errorRate, timeoutRate: timeoutRate ?? faults.random.timeoutRate };
      return [200, faults.snapshot()];
    }
    default:
      return undefined;
  }
}

/**
 * Plain HTTP/1.1 control API for processes that cannot hold a Simulator object (benchmarks, the CLI):
 * GET /counts, GET /records?limit=N, GET|POST /latency?ms=N, POST /reset, GET /ca,
 * GET /wait?total=N&timeoutMs=M (200 with counts once reached, 408 on timeout).
 * Faults (`provider` is apns or fcm, default apns): GET /faults, POST /faults/clear, POST /faults/goaway,
 * /faults/break?status=500|503, /faults/stall, /faults/max-streams?max=N, /faults/tls?on=true|false,
 * /faults/outage?on=true|false, /faults/oauth?status=N (0 = working), /faults/provider-tokens?max_age=S&min_refresh=S,
 * /faults/quota?retry_after=S, /faults/fail-next?code=C&count=N, /faults/random?error_rate=R&timeout_rate=R.
 */
export function createControlServer(state: SimState, caPem: string): Server {
  return http.createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://control');
      const route = `${req.method} ${url.pathname}`;
      switch (route) {
        case 'GET /counts':
          return sendJson(res, 200, state.counts());
        case 'GET /records': {
          const limit = numberParam(url, 'limit');
          if (Number.isNaN(limit)) return sendJson(res, 400, { error: 'limit must be a non-negative number' });
          return sendJson(res, 200, state.records(limit));
        }
        case 'GET /latency':
          return sendJson(res, 200, { latencyMs: state.latencyMs });
        case 'POST /latency': {
          const ms = numberParam(url, 'ms');
          if (ms === undefined || Number.isNaN(ms)) return sendJson(res, 400, { error: 'ms must be a non-negative number' });
          state.latencyMs = ms;
          return sendJson(res, 200, { latencyMs: ms });
        }
        case 'POST /reset':
          state.reset();
          return sendJson(res, 200, state.counts());
        case 'GET /ca':
          res.writeHead(200, { 'content-type': 'application/x-pem-file' });
          return void res.end(caPem);
        case 'GET /wait': {
          const total = numberParam(url, 'total');
          const timeoutMs = numberParam(url, 'timeoutMs') ?? 30_000;
          if (total === undefined || Number.isNaN(total) || Number.isNaN(timeoutMs)) {
            return sendJson(res, 400, { error: 'total and timeoutMs must be non-negative numbers' });
          }
          state.waitFor(total, timeoutMs).then(
            () => sendJson(res, 200, state.counts()),
            (err: Error) => sendJson(res, 408, { error: err.message, counts: state.counts() }),
          );
          return;
        }
        default: {
          const fault = faultRoute(route, url, state);
          if (fault) return sendJson(res, fault[0], fault[1]);
          return sendJson(res, 404, { error: `no route ${route}` });
        }
      }
    });
  });
}
