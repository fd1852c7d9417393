import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from './support/gateway';
import { waitFor } from './support/wait';

// Runs the built gateway (dist/main.js): `npm test` builds it first.

/**
 * Preloaded into the gateway (NODE_OPTIONS=--require): appends the name of every package it loads, the first time, to
 * the file LOADED_PACKAGES names, so that the test reads what the running gateway has loaded so far.
 */
const RECORDER = `
const { appendFileSync } = require('node:fs');
const { registerHooks } = require('node:module');
const seen = new Set();
registerHooks({
  load(url, context, nextLoad) {
    const name = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url)?.[1];
    if (name && !seen.has(name)) {
      seen.add(name);
      appendFileSync(process.env.LOADED_PACKAGES, name + '\\n');
    }
    return nextLoad(url, context);
  },
});
`;

describe('what a gateway with credentials and the memory queue loads', () => {
  let gw: GatewayProcess;
  let dir: string;
  let out: string;
  const loaded = (): string[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pushgate-loading-'));
    out = join(dir, 'packages.txt');
    const recorder = join(dir, 'recorder.cjs');
    writeFileSync(recorder, RECORDER);
    gw = await startGatewayProcess({
      NODE_OPTIONS: `--require ${recorder}`,
      LOADED_PACKAGES: out,
    });
  });
  afterAll(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves out Swagger, ioredis, the simulator and firebase-admin until they are needed', async () => {
    // What it does need, so that the list is known to be read.
    await waitFor(() => ['@nestjs/core', 'apns2', 'google-auth-library'].every((name) => loaded().includes(name)), {
      what: 'the packages of a running gateway',
    });
    for (const name of ['@nestjs/swagger', 'swagger-ui-dist', 'ioredis', 'node-forge', 'firebase-admin', 'yaml']) {
      expect({ name, loaded: loaded().includes(name) }).toEqual({ name, loaded: false });
    }
  });

  it('loads Swagger at the first request for the description', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.port}/docs-json`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    expect(loaded()).toContain('@nestjs/swagger');
  });
});
