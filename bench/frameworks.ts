// The floor of Nest's HTTP adapters for a small POST /push: the smallest Nest application with one route that reads
// a JSON body and answers a small object, on Express and on Fastify (and Express with a pino-http access line to a
// file), each in its own process, loaded by 64 connections of 1-token bodies. Rounds alternate the variants, so that
// the drift of a shared machine falls on all of them. Prints each run's CPU per request (the server process, from
// /proc), requests/s and p99.
//
//   npx node bench/frameworks.ts [rounds=3] [seconds=8]
//   npx node bench/frameworks.ts --serve=express|fastify|express-pino-http --port=N [--log=FILE]   (one server)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { singleNotificationBodies } from './lib/load.ts';
import { freePort, spawnChild, stopChild, until } from './lib/processes.ts';
import { procStat } from './lib/proc.ts';
import { round } from './lib/stats.ts';

const VARIANTS = ['express', 'fastify', 'express-pino-http'] as const;
type Variant = (typeof VARIANTS)[number];

async function serve(variant: Variant, port: number, logFile: string): Promise<void> {
  await import('reflect-metadata');
  const { Body, Controller, HttpCode, Module, Post } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  class PushController {
    accept(body: { notifications: { token: string[] }[] }): object {
      return { message: 'ok', count: body.notifications[0].token.length, request_id: 'bench-r1' };
    }
  }
  // Decorators applied by hand: Node runs this file with its types stripped, which leaves no decorator syntax.
  const proto = PushController.prototype;
  const accept = Object.getOwnPropertyDescriptor(proto, 'accept')!;
  Body()(proto, 'accept', 0);
  HttpCode(200)(proto, 'accept', accept);
  Post('push')(proto, 'accept', accept);
  Reflect.defineMetadata('design:paramtypes', [Object], proto, 'accept');
  Controller()(PushController);
  class BenchModule {}
  Module({ controllers: [PushController] })(BenchModule);
  if (variant === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const app = await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: false });
    await app.listen(port, '127.0.0.1');
    return;
  }
  const app = await NestFactory.create(BenchModule, { logger: false });
  if (variant === 'express-pino-http') {
    const { default: pino } = await import('pino');
    const { pinoHttp } = await import('pino-http');
    app.use(pinoHttp({ logger: pino(pino.destination({ dest: logFile, sync: false })) }));
  }
  await app.listen(port, '127.0.0.1');
}

const BODIES = singleNotificationBodies(256, 1);

async function measure(variant: Variant, seconds: number, dir: string) {
  const port = await freePort();
  const child = spawnChild(variant, [
    import.meta.filename,
    `--serve=${variant}`,
    `--port=${port}`,
    `--log=${path.join(dir, `${variant}-${port}.log`)}`,
  ]);
  const url = `http://127.0.0.1:${port}/push`;
  const post = (opts: { amount?: number; duration?: number; connections: number }) => {
    let next = 0;
    return autocannon({
      url,
      ...opts,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: BODIES[next++ % BODIES.length] }),
        },
      ],
    });
  };
  try {
    const answers = (): Promise<true | undefined> =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODIES[0] }).then((r) => (r.ok ? true : undefined));
    await until(`${variant} to answer`, answers, 60_000, child);
    await post({ amount: 5000, connections: 8 });
    const cpu0 = procStat(child.pid ?? 0).cpuUs;
    const r = await post({ duration: seconds, connections: 64 });
    const cpuUs = procStat(child.pid ?? 0).cpuUs - cpu0;
    const ok = r['2xx'];
    if (r.non2xx > 0 || ok === 0) throw new Error(`${variant}: ${r.non2xx} answers other than 2xx`);
    return { variant, requestsPerSec: Math.round(ok / seconds), cpuUsPerRequest: round(cpuUs / ok, 1), p99Ms: r.latency.p99 };
  } finally {
    await stopChild(child);
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { serve: { type: 'string' }, port: { type: 'string' }, log: { type: 'string' } },
});
if (values.serve) {
  await serve(values.serve as Variant, Number(values.port), values.log ?? os.devNull);
} else {
  const [rounds = 3, seconds = 8] = positionals.map(Number);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pushgate-frameworks-'));
  try {
    for (let i = 1; i <= rounds; i++) {
      for (const variant of VARIANTS) process.stdout.write(`${JSON.stringify({ round: i, ...(await measure(variant, seconds, dir)) })}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
