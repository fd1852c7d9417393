import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Simulator } from '../../src/simulator/simulator';
import { readLog, simulatorEnv } from '../support/gateway';
import { freePort } from '../support/process';

const ROOT = resolve(__dirname, '../..');
/** Node 24 from the `node` package, as npm scripts run it. */
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node')) ? join(ROOT, 'node_modules/.bin/node') : process.execPath;

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when a `redis-server` binary is on PATH (`.ci/run` installs Debian's package where it is missing). */
export function haveRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/**
 * A real `redis-server` on a free port with its own directory and an append-only file fsynced on every write,
 * so that a restart keeps everything it acknowledged, as the durable queue requires of a production Redis.
 */
export class RedisServer {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'pushgate-redis-'));

  private constructor(
    readonly port: number,
    private readonly password?: string,
  ) {}

  static async start(options: { password?: string } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), options.password);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ];
    if (this.password) args.push('--requirepass', this.password);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.process = child;
    await until(() => output.includes('Ready to accept connections') || child.exitCode !== null, 10_000, 'redis-server start');
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
  }

  /** SIGTERM: Redis finishes its append-only file and exits, as on a rolling restart. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A gateway as production runs it: `node dist/main.js`, configured by environment keys. */
export class GatewayProcess {
  private output = '';
  readonly exited: Promise<void>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly accessLog: string,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    child.stderr!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000)));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  static async start(sim: Simulator, env: Record<string, string>): Promise<GatewayProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-gw-'));
    const port = await freePort();
    const accessLog = join(dir, 'access.log');
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PUSHGATE_') && k !== 'NODE_OPTIONS'));
    const child = spawn(NODE, [join(ROOT, 'dist/main.js')], {
      cwd: ROOT,
      env: {
        ...base,
        ...simulatorEnv(sim, dir),
        PUSHGATE_CORE_PORT: String(port),
        PUSHGATE_LOG_ACCESS_LOG: accessLog,
        PUSHGATE_LOG_ERROR_LOG: 'stderr',
        PUSHGATE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const gateway = new GatewayProcess(child, port, accessLog);
    try {
      await until(async () => (await fetch(`${gateway.url}/health/ready`)).status === 200, 20_000, 'gateway ready');
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${gateway.output}`, { cause: error });
    }
    return gateway;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  push(notifications: Record<string, unknown>[]): Promise<Response> {
    return fetch(`${this.url}/push`, { method: 'POST', body: JSON.stringify({ notifications }) });
  }

  async stats(): Promise<{
    queue_usage: number;
    ios: { push_success: number; push_error: number };
    android: { push_success: number; push_error: number };
  }> {
    return (await (await fetch(`${this.url}/stat/app`)).json()) as never;
  }

  accessLines(): Record<string, unknown>[] {
    return readLog(this.accessLog);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

export { until };
