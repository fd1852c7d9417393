// The project's own APNs/FCM simulator (dist/simulator/main.js) as a benchmark provider.

import fs from 'node:fs';
import path from 'node:path';
import type { Endpoint, Provider } from './provider.ts';
import { requestJson, spawnChild, stopChild, until } from './processes.ts';

interface SimulatorCounts {
  apns: { total: number };
  fcm: { total: number };
}

export async function startSimulator(dist: string, credentialsDir: string, recordLimit = 1000): Promise<Provider> {
  const child = spawnChild('simulator', [
    path.join(dist, 'simulator/main.js'),
    '--host',
    '127.0.0.1',
    '--apns-port',
    '0',
    '--fcm-port',
    '0',
    '--control-port',
    '0',
    '--latency-ms',
    '0',
    '--record-limit',
    String(recordLimit),
    '--credentials-dir',
    credentialsDir,
  ]);
  const line = await until(
    'the simulator to start',
    () => (/credentials .*\n/.test(child.output) ? child.output : undefined),
    60_000,
    child,
  );
  const field = (re: RegExp): string => {
    const m = re.exec(line);
    if (!m) throw new Error(`unexpected simulator output:\n${line}`);
    return m[1];
  };
  const endpoint = (url: string): Endpoint => ({ host: new URL(url).hostname, port: Number(new URL(url).port) });
  const control = field(/control=(\S+)/);
  const files = {
    ca: field(/ ca=(\S+)/),
    apnsKey: field(/apnsKey=(\S+)/),
    apnsInfo: field(/apnsInfo=(\S+)/),
    fcmServiceAccount: field(/fcmServiceAccount=(\S+)/),
  };
  const info = JSON.parse(fs.readFileSync(files.apnsInfo, 'utf8')) as { keyId: string; teamId: string; topic: string };
  const counts = (): Promise<SimulatorCounts> => requestJson<SimulatorCounts>('GET', `${control}/counts`);
  const setLatency = (ms: number): Promise<unknown> => requestJson('POST', `${control}/latency?ms=${ms}`);
  const simulator: Provider = {
    name: 'simulator',
    child,
    apns: endpoint(field(/apns=(\S+)/)),
    fcm: endpoint(field(/fcm=(\S+)/)),
    files,
    ...info,
    latencyInPlace: true,
    counts,
    answered: async () => {
      const c = await counts();
      return c.apns.total + c.fcm.total;
    },
    reset: async () => {
      await requestJson('POST', `${control}/reset`);
    },
    waitFor: async (total, timeoutMs) => {
      await requestJson('GET', `${control}/wait?total=${total}&timeoutMs=${timeoutMs}`);
    },
    withLatency: async (ms, run) => {
      await setLatency(ms);
      try {
        return await run(simulator);
      } finally {
        await setLatency(0);
      }
    },
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
  return simulator;
}
