import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { freePort } from '../support/process';
import { one, render } from './chart';

// Runs the built gateway the way the chart's pod would (its config, env and args) and probes it the way the
// kubelet does, through a SIGTERM. Needs `npm run build` first (npm test does it).

const root = resolve(__dirname, '..', '..');
const nodeBin = join(root, 'node_modules', '.bin', 'node');
const mainJs = join(root, 'dist', 'main.js');

jest.setTimeout(120_000);

interface Answer {
  status: number;
  body: string;
}

/** One probe: a fresh connection, like the kubelet's; null when nothing answered. */
function probe(port: number, path: string, timeoutMs: number): Promise<Answer | null> {
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', () => done(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(null));
    req.end();
  });
}

/** The kubelet counts 200-399 as success. */
const ok = (a: Answer | null): boolean => a !== null && a.status >= 200 && a.status < 400;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's value, or null once ms have passed (the timer is cleared so jest can exit). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), Math.max(ms, 0))));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the chart probes against the real gateway', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let port: number;
  let container: IContainer;
  let grace: number;

  const tail = () => output.split('\n').slice(-30).join('\n');
  const timeoutOf = (p: IProbe | undefined) => (p?.timeoutSeconds ?? 1) * 1000;

  beforeAll(async () => {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` first`);
    // The chart's try-it-out mode: without credentials it runs only with the simulator allowed.
    const objects = await render({ set: { 'config.core.simulator': 'auto' } });
    const deployment = one<IDeployment>(objects, 'Deployment');
    const podSpec = deployment.spec!.template.spec!;
    container = podSpec.containers.find((c) => c.name === 'pushgate')!;
    grace = podSpec.terminationGracePeriodSeconds ?? 30;
    const toml = one<{ data: Record<string, string> }>(objects, 'ConfigMap').data['pushgate.toml'];

    dir = mkdtempSync(join(tmpdir(), 'pushgate-probes-'));
    const configPath = join(dir, 'pushgate.toml');
    writeFileSync(configPath, toml);

    const args = [...(container.args ?? [])];
    const i = args.findIndex((a) => a === '--config' || a === '-c');
    expect(i).toBeGreaterThanOrEqual(0);
    args[i + 1] = configPath;

    // The pod's environment, minus what this machine would add: no inherited PUSHGATE_* or jest's NODE_OPTIONS.
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('PUSHGATE_') && k !== 'NODE_OPTIONS') env[k] = v;
    }
    for (const e of container.env ?? []) {
      if (e.valueFrom?.secretKeyRef) continue;
      if (e.value !== undefined) env[e.name] = e.value;
    }
    port = await freePort();
    env.PUSHGATE_CORE_PORT = String(port);

    const proc = spawn(nodeBin, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    exited = new Promise((done) => proc.on('exit', (code, signal) => done({ code, signal })));
  });

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the startup, liveness and readiness probes', async () => {
    const startup = container.startupProbe!;
    const budgetMs = (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3) * 1000;
    const deadline = Date.now() + budgetMs;
    let started = false;
    let ready = false;
    while (Date.now() < deadline && child?.exitCode === null) {
      started ||= ok(await probe(port, startup.httpGet!.path!, timeoutOf(startup)));
      if (started) ready = ok(await probe(port, container.readinessProbe!.httpGet!.path!, timeoutOf(container.readinessProbe)));
      if (ready) break;
      await sleep(200);
    }
    if (!ready) throw new Error(`gateway never became ready (started: ${started}). Output:\n${tail()}`);
    expect(ok(await probe(port, container.livenessProbe!.httpGet!.path!, timeoutOf(container.livenessProbe)))).toBe(true);
  });

  it('logs that it delivers to its simulator when no credentials are configured', () => {
    expect(output).toMatch(/simulator/i);
  });

  it('turns readiness 503 on SIGTERM while staying alive, then exits 0 within the grace period', async () => {
    if (!child || child.exitCode !== null) throw new Error(`gateway is not running. Output:\n${tail()}`);
    const readyPath = container.readinessProbe!.httpGet!.path!;
    const livePath = container.livenessProbe!.httpGet!.path!;
    // The kubelet runs the preStop sleep before SIGTERM, inside the same grace period.
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const sentAt = Date.now();
    child.kill('SIGTERM');

    let exitedYet = false;
    void exited.then(() => (exitedYet = true));
    let notReady: Answer | null = null;
    let notReadyAfterMs = -1;
    let aliveWhileNotReady = false;
    let liveWhileNotReady: Answer | null = null;
    while (!exitedYet && Date.now() - sentAt < (grace - preStop) * 1000) {
      const answer = await probe(port, readyPath, timeoutOf(container.readinessProbe));
      if (answer?.status === 503) {
        notReady ??= answer;
        if (notReadyAfterMs < 0) notReadyAfterMs = Date.now() - sentAt;
        // A failing liveness probe during the drain would have the kubelet kill the gateway mid-drain.
        liveWhileNotReady = await probe(port, livePath, timeoutOf(container.livenessProbe));
        aliveWhileNotReady ||= ok(liveWhileNotReady);
        if (aliveWhileNotReady) break;
      }
      await sleep(50);
    }
    const budgetMs = (grace - preStop) * 1000 - (Date.now() - sentAt);
    const result = await within(exited, budgetMs);

    // Every broken promise at once, so one run tells the whole story.
    const problems: string[] = [];
    if (!notReady) {
      problems.push(`${readyPath} never answered 503 after SIGTERM`);
    } else {
      const body = notReady.body;
      if (!isJson(body)) problems.push(`${readyPath} 503 body is not JSON: ${body}`);
      if (notReadyAfterMs >= 1000) problems.push(`${readyPath} took ${notReadyAfterMs} ms to turn 503`);
      if (!aliveWhileNotReady) {
        const live = liveWhileNotReady ? `${liveWhileNotReady.status} ${liveWhileNotReady.body}` : 'no answer';
        problems.push(`${livePath} failed while ${readyPath} answered 503: ${live}`);
      }
    }
    if (!result) problems.push(`still running ${grace - preStop}s after SIGTERM (grace period minus preStop)`);
    else if (result.code !== 0) problems.push(`exited with ${result.code ?? result.signal}`);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nOutput:\n${tail()}`);
  });
});
