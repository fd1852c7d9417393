import http, { IncomingMessage, Server, ServerResponse } from 'node:http';
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

/**
 * Plain HTTP/1.1 control API for processes that cannot hold a Simulator object (benchmarks, the CLI):
 * GET /counts, GET /records?limit=N, GET|POST /latency?ms=N, POST /reset, GET /ca,
 * GET /wait?total=N&timeoutMs=M (200 with counts once reached, 408 on timeout).
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
        default:
          return sendJson(res, 404, { error: `no route ${route}` });
      }
    });
  });
}
