// CPU per HTTP request of the access-log line (pino-http, src/http/access-log.middleware.ts), measured apart from
// everything else a request costs:
//
//   npm run build && node bench/access-line.ts [--format=json|gaurun] [--dist=DIR]
//
// Each round runs the same loop twice over fresh request/response pairs (a `POST /push` of one token answered 200):
// once with the middleware, its line written through LogService's file layer to a file, once without. The figure is
// the difference of the medians of five rounds, in microseconds of process CPU per request.

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface Middleware {
  use(req: unknown, res: unknown, next: () => void): void;
}
interface Logs {
  flush(): void;
}

const { values } = parseArgs({ options: { format: { type: 'string', default: 'json' }, dist: { type: 'string', default: 'dist' } } });
const dist = path.resolve(values.dist);
const require = createRequire(import.meta.url);
const { LogService } = require(path.join(dist, 'log/log.service.js')) as { LogService: new (config: object) => Logs };
const { AccessLogMiddleware } = require(path.join(dist, 'http/access-log.middleware.js')) as {
  AccessLogMiddleware: new (logs: Logs) => Middleware;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-access-line-'));
// log.level info: in the gaurun format the line goes to the error log, which the default level (error) would skip.
const logs = new LogService({
  access_log: path.join(dir, 'access.log'),
  error_log: path.join(dir, 'error.log'),
  level: 'info',
  format: values.format,
});
const middleware = new AccessLogMiddleware(logs);
let sequence = 0;

function pair(): { req: EventEmitter; res: EventEmitter } {
  const req = Object.assign(new EventEmitter(), {
    method: 'POST',
    originalUrl: '/push',
    url: '/push',
    headers: {},
    body: { notifications: [{ token: ['t'], platform: 1 }] },
  });
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    writableEnded: true,
    locals: { requestId: `bench-r${(sequence++).toString(36)}` },
  });
  return { req, res };
}

/** Microseconds of process CPU per request over `n` requests. */
function round(n: number, withLine: boolean): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const { req, res } = pair();
    if (withLine) middleware.use(req, res, () => {});
    res.emit('finish');
    if (i % 256 === 0) logs.flush();
  }
  logs.flush();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const N = 200_000;
round(20_000, true);
round(20_000, false);
const without: number[] = [];
const withLine: number[] = [];
for (let r = 0; r < 5; r++) {
  without.push(round(N, false));
  withLine.push(round(N, true));
}
const fixed = (x: number): number => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    format: values.format,
    requests_per_round: N,
    rounds: 5,
    us_per_request_without: fixed(median(without)),
    us_per_request_with: fixed(median(withLine)),
    line_us: fixed(median(withLine) - median(without)),
  }),
);
fs.rmSync(dir, { recursive: true, force: true });
