import http2, { type ClientHttp2Session } from 'node:http2';
import { LogService } from '../../src/log/log.service';
import type { AppStats } from '../../src/stats/stats.controller';
import { Simulator } from '../../src/simulator/simulator';
import { readLog, startGateway, type Gateway } from '../support/gateway';
import { waitFor } from '../support/wait';

export async function stats(gw: Gateway): Promise<AppStats> {
  return (await gw.http.get('/stat/app').expect(200)).body as AppStats;
}

export function finished(s: AppStats): number {
  return s.ios.push_success + s.ios.push_error + s.android.push_success + s.android.push_error;
}

/** Waits until every accepted push has ended, then checks nothing was lost: counters and log agree. */
export async function nothingLost(gw: Gateway, timeoutMs = 20_000): Promise<AppStats> {
  await waitFor(
    async () => {
      const s = await stats(gw);
      return s.accepted === finished(s) && s.queue_usage === 0 && s.pusher_count === 0 && s.retrying === 0;
    },
    { timeoutMs, what: 'every accepted push ended' },
  );
  const s = await stats(gw);
  expect(finished(s)).toBe(s.accepted);
  let accepted = new Set<unknown>();
  let ended: unknown[] = [];
  await waitFor(
    () => {
      gw.app.get(LogService).flush();
      const log = readLog(gw.accessLog);
      accepted = new Set(log.filter((l) => l.type === 'accepted-push').map((l) => l.id));
      ended = log.filter((l) => l.type === 'succeeded-push' || l.type === 'failed-push').map((l) => l.id);
      return accepted.size === s.accepted && ended.length === s.accepted;
    },
    { timeoutMs: 3000 },
  ).catch(() => undefined);
  expect(accepted.size).toBe(s.accepted);
  expect(ended.length).toBe(accepted.size);
  expect(new Set(ended)).toEqual(accepted);
  return s;
}

/** Collects unhandled rejections and uncaught exceptions for the file's lifetime; the list must stay empty. */
export function trackCrashes(): { errors: unknown[] } {
  const seen = { errors: [] as unknown[] };
  const onError = (error: unknown): void => {
    seen.errors.push(error);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onError);
    process.on('uncaughtException', onError);
  });
  afterAll(() => {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
    expect(seen.errors).toEqual([]);
  });
  return seen;
}

export function tokens(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

export interface CapturedSession {
  session: ClientHttp2Session;
  pingsSent: number;
  pingsAnswered: number;
}

/**
 * The HTTP/2 connections the gateway opens from now until `restore()`, as the gateway sees them, with the PINGs it
 * sends on each. Only connections made in this thread are seen: run the gateway with
 * `PUSHGATE_CORE_TRANSPORT_THREADS: '0'`.
 */
export function captureSessions(): { sessions: CapturedSession[]; restore(): void } {
  const sessions: CapturedSession[] = [];
  const connect = http2.connect.bind(http2);
  const spy = jest.spyOn(http2, 'connect').mockImplementation((...args: Parameters<typeof http2.connect>) => {
    const session = connect(...args);
    const captured: CapturedSession = { session, pingsSent: 0, pingsAnswered: 0 };
    const ping = session.ping.bind(session);
    session.ping = ((callback: (err: Error | null, duration: number, payload: Buffer) => void): boolean => {
      captured.pingsSent++;
      return ping((err, duration, payload) => {
        if (!err) captured.pingsAnswered++;
        callback(err, duration, payload);
      });
    }) as ClientHttp2Session['ping'];
    sessions.push(captured);
    return session;
  });
  return { sessions, restore: () => spy.mockRestore() };
}

/**
 * Runs `run` against a fresh simulator and gateway (configured by `env`), closes both, and checks that nothing
 * crashed meanwhile. `before` prepares the simulator before the gateway starts.
 */
export async function withGateway(
  crashes: { errors: unknown[] },
  env: Record<string, string>,
  run: (sim: Simulator, gw: Gateway) => Promise<void>,
  options: { latencyMs?: number; before?: (sim: Simulator) => void } = {},
): Promise<void> {
  const sim = await Simulator.start({ latencyMs: options.latencyMs ?? 0 });
  options.before?.(sim);
  const gw = await startGateway(sim, env);
  try {
    await run(sim, gw);
  } finally {
    await gw.close();
    await sim.close();
  }
  expect(crashes.errors).toEqual([]);
}
