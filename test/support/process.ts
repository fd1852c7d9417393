import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { waitFor } from './wait';

export const root = resolve(__dirname, '..', '..');
/** Node 24 from the `node` package: the runtime the built gateway and CLI need. */
export const nodeBin = join(root, 'node_modules', '.bin', 'node');
export const cliJs = join(root, 'dist', 'cli', 'main.js');
export const mainJs = join(root, 'dist', 'main.js');

/** The environment of a child gateway or command: this one's without any PUSHGATE_ key, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PUSHGATE_')));
  return { ...base, ...env };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a built entry point to its end. */
export function run(script: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(nodeBin, [script, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Starts a built entry point that keeps running (a gateway). */
export function start(script: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(nodeBin, [script, ...args], { env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

/** Resolves once the gateway on this port answers its liveness probe. */
export function answering(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  return waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/health/live`)).ok;
      } catch {
        return false; // not listening yet
      }
    },
    { timeoutMs, intervalMs: 100, what: 'the gateway answering its liveness probe' },
  );
}

export function post(port: number, path: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body) });
}
