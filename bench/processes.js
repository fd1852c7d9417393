'use strict';
// Child processes, ports and waiting, shared by the benchmark scripts (run.js, redis.js, soak.js).

const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Every child still running, so that a script can kill them all on exit or failure. */
const children = new Set();

/** This environment without PUSHGATE_* settings, which would otherwise leak into the processes under test. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHGATE_')));
}

/**
 * Starts `command argv` from the repository root with the clean environment plus `env`. The child keeps the last
 * 20,000 characters of its output in `child.output`; `child.exited` resolves with `{code, signal}`.
 */
function spawnChild(name, argv, env = {}, command = process.execPath) {
  const child = spawn(command, argv, { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.name = name;
  child.output = '';
  const keep = (chunk) => {
    child.output = (child.output + chunk).slice(-20_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  child.exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return child;
}

/** Sends `signal`, then SIGKILL if the child has not exited within `timeoutMs`. */
async function stopChild(child, signal = 'SIGKILL', timeoutMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}

function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something truthy; fails early when `child` exits, or after `timeoutMs`. */
async function until(what, check, timeoutMs, child, pollMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${child.name} exited (${child.exitCode}) while waiting for ${what}:\n${child.output}`);
    const value = await Promise.resolve().then(check).catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `:\n${child.output}` : ''}`);
    await sleep(pollMs);
  }
}

module.exports = { ROOT, children, cleanEnv, spawnChild, stopChild, killAll, freePort, sleep, until };
