// Child processes, ports, waiting and each run's temporary directory, shared by the benchmark scripts.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BENCH = path.join(ROOT, 'bench');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process with a name, the tail of its output and a promise of its exit. */
export type BenchChild = ChildProcess & { name: string; output: string; readonly exited: Promise<Exit> };

/** Every child still running, so that a script can kill them all on exit or failure. */
const children = new Set<BenchChild>();

/** This environment without PUSHGATE_* settings, which would otherwise leak into the processes under test. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHGATE_')));
}

/**
 * Starts `command argv` from the repository root with the clean environment plus `env`. The child keeps the last
 * 20,000 characters of its output in `child.output`; `child.exited` resolves with `{code, signal}`.
 */
export function spawnChild(name: string, argv: string[], env: Record<string, string> = {}, command = process.execPath): BenchChild {
  const proc = spawn(command, argv, { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<Exit>((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const child: BenchChild = Object.assign(proc, { name, output: '', exited });
  children.add(child);
  const keep = (chunk: string): void => {
    child.output = (child.output + chunk).slice(-20_000);
  };
  proc.stdout?.setEncoding('utf8').on('data', keep);
  proc.stderr?.setEncoding('utf8').on('data', keep);
  return child;
}

/** Sends `signal`, then SIGKILL if the child has not exited within `timeoutMs`. */
export async function stopChild(child: BenchChild, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

/**
 * A temporary directory for this run of a bench script, removed as it exits; every child still running is killed
 * then, and a stop by signal ends the script (exit 130) after a line on stderr naming `script`.
 */
export function runDirectory(script: string, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => {
    killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`${script}: ${signal}, stopping\n`);
      process.exit(130);
    });
  }
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy; fails early when `child` exits, or after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs: number,
  child?: BenchChild,
  pollMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(`${child.name} exited (${child.exitCode}) while waiting for ${what}:\n${child.output}`);
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `:\n${child.output}` : ''}`);
    await sleep(pollMs);
  }
}

/** A JSON request; the answer's body parsed (or undefined when empty), an error for any status but 2xx. */
export async function requestJson<T = unknown>(method: string, url: string, body?: string): Promise<T> {
  const res = await fetch(url, { method, body, headers: body ? { 'content-type': 'application/json' } : undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Writes a timestamped progress line on stderr (stdout carries the results). */
export function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
