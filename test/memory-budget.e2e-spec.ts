import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBudget } from '../src/push/memory-budget';
import { LogService } from '../src/log/log.service';
import { Simulator } from '../src/simulator/simulator';
import { ios, android, readLog, simulatorEnv, startGateway } from './support/gateway';
import { answering, childEnv, exited, freePort, mainJs, nodeBin } from './support/process';
import { waitFor } from './support/wait';

jest.setTimeout(240_000);

/** A V8 heap far below the machine's: the budget then derives from it (a quarter of the heap limit, about 22 MiB). */
const HEAP_FLAGS = ['--max-old-space-size=64', '--max-semi-space-size=8'];
const TOKENS = 1000;
const REQUESTS = 120;
const POSTERS = 8;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe('memory budget under a small heap', () => {
  let sim: Simulator;
  let gateway: ChildProcess;
  let stderr = '';

  afterEach(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGKILL');
      await exited(gateway);
    }
    await sim?.close();
  });

  it('answers the excess of a burst with 503s, delivers every accepted push and stays alive', async () => {
    sim = await Simulator.start({ recordLimit: 10 });
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-memory-'));
    const port = await freePort();
    const accessLog = join(dir, 'access.log');
    gateway = spawn(nodeBin, [...HEAP_FLAGS, mainJs], {
      env: childEnv({
        ...simulatorEnv(sim, dir),
        PUSHGATE_CORE_PORT: String(port),
        PUSHGATE_CORE_QUEUES: String(REQUESTS * TOKENS),
        PUSHGATE_LOG_ACCESS_LOG: accessLog,
        PUSHGATE_LOG_ERROR_LOG: join(dir, 'error.log'),
        PUSHGATE_LOG_LEVEL: 'error',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    gateway.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await answering(port, gateway);
    const url = `http://127.0.0.1:${port}`;
    const budget = metric(await (await fetch(`${url}/metrics`)).text(), 'pushgate_memory_budget_bytes');
    expect(budget).toBeGreaterThan(10 * 1048576);
    expect(budget).toBeLessThan(40 * 1048576);

    const tokens = (r: number): string[] => Array.from({ length: TOKENS }, (_, i) => `m${r}-${i}`.padEnd(64, 'f'));
    const statuses: number[] = [];
    const accepted: number[] = [];
    let next = 0;
    const poster = async (): Promise<void> => {
      for (let r = next++; r < REQUESTS; r = next++) {
        const body = { notifications: [r % 2 === 0 ? ios(tokens(r)) : android(tokens(r))] };
        const res = await fetch(`${url}/push`, { method: 'POST', body: JSON.stringify(body) });
        const answer = (await res.json()) as { message?: string };
        statuses.push(res.status);
        if (res.status === 200) accepted.push(r);
        else {
          expect(res.status).toBe(503);
          expect(res.headers.get('retry-after')).toBe('1');
          expect(answer.message).toMatch(/^memory budget exceeded \(.* MiB held, this request needs .* MiB\); retry later$/);
        }
      }
    };
    await Promise.all(Array.from({ length: POSTERS }, poster));

    const refused = statuses.filter((s) => s === 503).length;
    expect(statuses).toHaveLength(REQUESTS);
    expect(refused).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused + accepted.length).toBe(REQUESTS);

    const delivered = (): number => sim.counts().apns.total + sim.counts().fcm.total;
    await waitFor(() => delivered() >= accepted.length * TOKENS, {
      timeoutMs: 180_000,
      intervalMs: 200,
      what: 'every accepted push delivered',
    });
    expect(delivered()).toBe(accepted.length * TOKENS);

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(metric(text, 'pushgate_memory_budget_refusals_total')).toBe(refused);
    await waitFor(async () => metric(await (await fetch(`${url}/metrics`)).text(), 'pushgate_memory_budget_used_bytes') === 0, {
      timeoutMs: 10_000,
      what: 'the budget given back once every push ended',
    });
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect(gateway.exitCode).toBeNull();
    expect(stderr).not.toMatch(/heap out of memory/i);

    // Refused requests left no accepted-push lines: exactly the accepted requests' tokens were journalled.
    await waitFor(
      () => {
        try {
          return (
            readFileSync(accessLog, 'utf8')
              .split('\n')
              .filter((l) => l.includes('"accepted-push"')).length >=
            accepted.length * TOKENS
          );
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, what: 'the access log written' },
    );
    const journalled = new Set<string>();
    for (const line of readFileSync(accessLog, 'utf8').split('\n')) {
      if (!line.includes('"accepted-push"')) continue;
      const m = /"token":"m(\d+)-/.exec(line);
      if (m) journalled.add(m[1]);
    }
    expect([...journalled].map(Number).sort((a, b) => a - b)).toEqual([...accepted].sort((a, b) => a - b));
  });
});

describe('memory budget with the in-memory queue', () => {
  it('holds a request until its pushes end, refusing another that would go over with nothing journalled', async () => {
    const sim = await Simulator.start({ latencyMs: 300 });
    // One notification of 6 five-character tokens is estimated at 7,212 bytes: one fits in 10,000, two do not.
    const gw = await startGateway(sim, { PUSHGATE_CORE_MEMORY_BUDGET: '10000', PUSHGATE_CORE_WORKERS: '1', PUSHGATE_CORE_PUSHER_MAX: '0' });
    try {
      const budget = gw.app.get(MemoryBudget);
      const first = ['bud-1', 'bud-2', 'bud-3', 'bud-4', 'bud-5', 'bud-6'];
      await gw.http
        .post('/push')
        .send({ notifications: [ios(first)] })
        .expect(200);
      expect(budget.used).toBe(7212);
      const refused = await gw.http
        .post('/push')
        .send({ notifications: [android(['bud-7', 'bud-8', 'bud-9', 'bud-a', 'bud-b', 'bud-c'])] })
        .expect(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body.message).toMatch(/^memory budget exceeded/);
      expect(budget.refused).toBe(1);
      await waitFor(() => budget.used === 0, { timeoutMs: 30_000, what: 'the first request given back as its pushes ended' });
      expect(sim.counts().apns.total).toBe(6);
      await gw.http
        .post('/push')
        .send({ notifications: [android(['bud-d'])] })
        .expect(200);
      await waitFor(() => sim.counts().fcm.total === 1, { timeoutMs: 10_000, what: 'the later request delivered' });
      gw.app.get(LogService).flush();
      const journalled = readLog(gw.accessLog).filter((l) => l.type === 'accepted-push');
      expect(journalled).toHaveLength(7);
    } finally {
      await gw.close();
      await sim.close();
    }
  });
});
