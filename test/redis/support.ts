import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Simulator } from '../../src/simulator/simulator';
import { ios, readLog, simulatorEnv } from '../support/gateway';
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

/** True when `redis-sentinel` is on PATH too (Debian packages it apart from `redis-server`). */
export function haveRedisSentinel(): boolean {
  return haveRedisServer() && spawnSync('redis-sentinel', ['--version']).status === 0;
}

/** Starts a Redis binary and resolves once its output says `ready`; rejects with its output if it exits first. */
async function spawnRedis(command: string, args: string[], ready: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  await until(() => output.includes(ready) || child.exitCode !== null, 10_000, `${command} start`);
  if (child.exitCode !== null) throw new Error(`${command} exited: ${output}`);
  return child;
}

async function kill(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

export interface RedisServerOptions {
  /** `requirepass`, and `masterauth` so that the server can follow a primary that has the same password. */
  password?: string;
  /** Starts as a replica of this server. */
  replicaOf?: RedisServer;
  /** A Redis Cluster node (its bus on a second free port). */
  cluster?: boolean;
  /** When the append-only file is fsynced: `always` (the default here) or `everysec` (Redis's own default). */
  appendfsync?: 'always' | 'everysec';
  /** Holds off the first sync of its replicas this long (a diskless sync waiting for more replicas to join). */
  replicaSyncDelaySeconds?: number;
}

/**
 * A real `redis-server` on a free port with its own directory and an append-only file fsynced on every write,
 * so that a restart keeps everything it acknowledged, as the durable queue requires of a production Redis.
 */
export class RedisServer {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'pushgate-redis-'));
  private readonly password?: string;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions & { busPort?: number },
  ) {
    this.password = options.password;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), { ...options, busPort: options.cluster ? await freePort() : undefined });
    await server.start();
    return server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The process id, to stop (SIGSTOP) or resume it. */
  get pid(): number | undefined {
    return this.process?.pid;
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
      this.options.appendfsync ?? 'always',
    ];
    if (this.password) args.push('--requirepass', this.password, '--masterauth', this.password);
    if (this.options.replicaSyncDelaySeconds !== undefined) {
      args.push('--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', String(this.options.replicaSyncDelaySeconds));
    }
    const { replicaOf, busPort } = this.options;
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf.port));
    if (busPort) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, 'nodes.conf'), '--cluster-port', String(busPort));
      // A replica whose last contact with its primary is older than node-timeout x validity-factor refuses to fail over
      // (the cluster then stays down); on a loaded machine that contact can lag, so the factor is 0: always fail over.
      args.push('--cluster-node-timeout', '2000', '--cluster-replica-validity-factor', '0');
    }
    // A replica says it is ready before it has synced; its caller waits for the sync where it matters.
    this.process = await spawnRedis('redis-server', args, 'Ready to accept connections');
  }

  /** SIGTERM: Redis finishes its append-only file and exits, as on a rolling restart. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await kill(this.process, signal);
  }

  /** A client of this server alone (the caller disconnects it). */
  client(): Redis {
    return new Redis({ port: this.port, host: '127.0.0.1', password: this.password, lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A `redis-sentinel` on a free port watching `primary` under `name` with quorum 2, and short timeouts so that a
 * failover takes seconds: the primary is down after 1 s without answers.
 */
export class RedisSentinel {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'pushgate-sentinel-'));

  private constructor(
    readonly port: number,
    private readonly password: string,
  ) {}

  static async start(primary: RedisServer, options: { name: string; password: string; primaryPassword: string }): Promise<RedisSentinel> {
    const sentinel = new RedisSentinel(await freePort(), options.password);
    const { name } = options;
    const config = join(sentinel.dir, 'sentinel.conf');
    writeFileSync(
      config,
      [
        `port ${sentinel.port}`,
        'bind 127.0.0.1',
        `dir ${sentinel.dir}`,
        `requirepass "${options.password}"`,
        `sentinel sentinel-pass "${options.password}"`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel auth-pass ${name} "${options.primaryPassword}"`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 2000`,
        '',
      ].join('\n'),
    );
    sentinel.process = await spawnRedis('redis-sentinel', [config], `+monitor master ${name}`);
    return sentinel;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A client of this sentinel (the caller disconnects it). */
  client(): Redis {
    return new Redis({ port: this.port, host: '127.0.0.1', password: this.password, lazyConnect: true, maxRetriesPerRequest: 1 });
  }

  async close(): Promise<void> {
    await kill(this.process, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * `primaries` primaries (and `replicas` replicas of each) joined into a Redis Cluster by `redis-cli --cluster create`.
 * Ready once every replica holds a copy of its primary, unless `synced` is false: then the primaries hold off their
 * replicas' first sync for an hour, so a replica that takes over starts with nothing.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(primaries = 3, replicas = 0, { synced = true } = {}): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < primaries * (1 + replicas); i++) {
        nodes.push(await RedisServer.start({ cluster: true, ...(synced ? {} : { replicaSyncDelaySeconds: 3600 }) }));
      }
      const create = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
      for (const node of nodes) {
        const client = node.client();
        try {
          await until(async () => /cluster_state:ok/.test(await client.cluster('INFO')), 20_000, `cluster state ok on ${node.address}`);
          // A replica serves as a failover target only once its first sync is done: before that it holds nothing,
          // and with a validity factor of 0 it would still be elected, with an empty data set.
          if (synced) {
            await until(
              async () =>
                !/role:slave/.test(await client.info('replication')) || /master_link_status:up/.test(await client.info('replication')),
              30_000,
              `replica ${node.address} in sync with its primary`,
            );
          }
        } finally {
          client.disconnect();
        }
      }
    } catch (error) {
      await Promise.all(nodes.map((n) => n.close()));
      throw error;
    }
    return new RedisCluster(nodes);
  }

  /** The node serving `key` as primary now (asked of a live node). */
  async primaryOf(key: string): Promise<RedisServer> {
    const client = this.nodes[0].client();
    try {
      const slot = await client.cluster('KEYSLOT', key);
      const ranges = await client.cluster('SLOTS');
      const port = ranges.find(([from, to]) => from <= slot && slot <= to)![2][1];
      return this.nodes.find((n) => n.port === port)!;
    } finally {
      client.disconnect();
    }
  }

  /** `host:port,host:port,...` of every node. */
  get seeds(): string {
    return this.nodes.map((n) => n.address).join(',');
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
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
      // Generous: on the loaded 2-core machine a start once took more than 20 s.
      await until(async () => (await fetch(`${gateway.url}/health/ready`)).status === 200, 60_000, 'gateway ready');
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
    pusher_count: number;
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

/** One request of a push loop: its tokens, the answer's status (0: no answer), when it came and how long it took. */
export interface Sent {
  readonly tokens: string[];
  readonly status: number;
  readonly at: number;
  readonly ms: number;
}

/** The slowest answer among `sent`, ms. */
export function slowest(sent: Sent[]): number {
  return sent.reduce((max, s) => Math.max(max, s.ms), 0);
}

/** Posts one notification of `size` new tokens after another until stopped, recording every answer. */
export function pushLoop(gateway: GatewayProcess, tag: string, size: number, sent: Sent[], running: () => boolean): Promise<void> {
  return (async () => {
    for (let n = 0; running(); n++) {
      const tokens = Array.from({ length: size }, (_, i) => `${tag}-${n}-${i}`);
      let status = 0;
      const started = Date.now();
      try {
        const response = await gateway.push([ios(tokens)]);
        await response.arrayBuffer();
        status = response.status;
      } catch {
        // No answer at all: recorded as status 0 and counted apart.
      }
      sent.push({ tokens, status, at: Date.now(), ms: Date.now() - started });
      // As a client would, though without honouring the whole Retry-After: the switch takes seconds, not minutes.
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
  })();
}

/** Polls /health/ready and records each change of its status with the time it was seen. */
export function readinessWatch(gateway: GatewayProcess, changes: { status: number; at: number }[], running: () => boolean): Promise<void> {
  return (async () => {
    while (running()) {
      const status = await fetch(`${gateway.url}/health/ready`).then(
        (r) => r.arrayBuffer().then(() => r.status),
        () => 0,
      );
      if (changes.at(-1)?.status !== status) changes.push({ status, at: Date.now() });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

export interface ReadinessChange {
  readonly status: number;
  readonly at: number;
}

/** What {@link failoverUnderLoad} saw. */
export interface Failover {
  /** Every request, in the order its answer came. */
  readonly sent: Sent[];
  /** Each change of each gateway's readiness, in the order of `gateways`. */
  readonly readiness: ReadinessChange[][];
  /** When the kill began, and when the killed server had exited. */
  readonly killedAt: number;
  readonly exitedAt: number;
  /** When the last gateway's readiness came back. */
  readonly recoveredAt: number;
}

/**
 * Pushes through every gateway from two clients each (5 tokens a request, `tag` in the tokens) while watching their
 * readiness; once 100 requests were accepted, `kill` stops the server; then waits until every gateway's readiness
 * has gone down and come back (within `recoveryMs`), and until 100 more requests were accepted. Then stops pushing.
 */
export async function failoverUnderLoad(
  gateways: GatewayProcess[],
  options: { tag: string; kill: () => Promise<void>; recoveryMs: number },
): Promise<Failover> {
  const sent: Sent[] = [];
  const readiness = gateways.map(() => [] as ReadinessChange[]);
  let running = true;
  const loops = [
    ...gateways.flatMap((gw, g) => [0, 1].map((l) => pushLoop(gw, `${options.tag}-${g}${l}`, 5, sent, () => running))),
    ...gateways.map((gw, g) => readinessWatch(gw, readiness[g], () => running)),
  ];
  try {
    await until(() => sent.filter((s) => s.status === 200).length >= 100, 20_000, 'pushes accepted before the failover');
    const killedAt = Date.now();
    await options.kill();
    const exitedAt = Date.now();
    await until(
      () => readiness.every((changes) => changes.some((c) => c.at > killedAt && c.status === 503) && changes.at(-1)!.status === 200),
      options.recoveryMs,
      'readiness down and back on every gateway',
    ).catch((error: Error) => {
      const seen = readiness.map((changes) => changes.map((c) => `${c.status}@${c.at - killedAt}ms`).join(' '));
      throw new Error(
        `${error.message} (readiness since the kill: ${seen.join('; ')})\n${gateways.map((gw) => gw.log.slice(-3000)).join('\n')}`,
      );
    });
    const recoveredAt = Math.max(...readiness.map((changes) => changes.at(-1)!.at));
    await until(
      () => sent.filter((s) => s.status === 200 && s.at > recoveredAt).length >= 100,
      20_000,
      'pushes accepted after the failover',
    );
    return { sent, readiness, killedAt, exitedAt, recoveredAt };
  } finally {
    running = false;
    await Promise.all(loops);
  }
}

/** The requests refused; checks that each was a 503 (the client sends again) and came after the kill. */
export function expectRefusalsOnlyDuring(failover: Failover): Sent[] {
  const refused = failover.sent.filter((s) => s.status !== 200);
  expect(refused.filter((s) => s.status !== 503)).toEqual([]);
  expect(refused.filter((s) => s.at < failover.killedAt)).toEqual([]);
  return refused;
}

/** How long each gateway's readiness stayed down after the kill, ms. */
export function readinessDownMs(failover: Failover): number[] {
  return failover.readiness.map((changes) => {
    const down = changes.find((c) => c.status !== 200 && c.at >= failover.killedAt)!;
    return changes[changes.indexOf(down) + 1].at - down.at;
  });
}

/** Tokens the simulator answered 200 for. */
export function deliveredTokens(sim: Simulator): Set<string> {
  return new Set(
    sim
      .records()
      .filter((r) => r.status === 200)
      .map((r) => r.token),
  );
}

/** Waits until the shared depth is 0 and no gateway has a send in flight. */
export async function untilSettled(gateways: GatewayProcess[], timeoutMs: number): Promise<void> {
  await until(
    async () => (await Promise.all(gateways.map((gw) => gw.stats()))).every((s) => s.queue_usage === 0 && s.pusher_count === 0),
    timeoutMs,
    'shared depth back to 0, no send in flight',
  );
}

export { until };
