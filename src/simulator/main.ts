import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulator } from './simulator';

const USAGE = `usage: node dist/simulator/main.js [--host 127.0.0.1] [--apns-port 2197] [--fcm-port 2198]
  [--control-port 2199] [--latency-ms 0] [--record-limit 10000] [--topic com.example.pushgate]
  [--credentials-dir ./simulator-credentials] [--error-rate 0] [--timeout-rate 0]`;

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} must be a port number, got "${value}"`);
  return n;
}

function nonNegative(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      'apns-port': { type: 'string', default: '2197' },
      'fcm-port': { type: 'string', default: '2198' },
      'control-port': { type: 'string', default: '2199' },
      'latency-ms': { type: 'string', default: '0' },
      'record-limit': { type: 'string', default: '10000' },
      topic: { type: 'string', default: 'com.example.pushgate' },
      'credentials-dir': { type: 'string', default: './simulator-credentials' },
      'error-rate': { type: 'string', default: '0' },
      'timeout-rate': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const simulator = await Simulator.start({
    host: values.host,
    apnsPort: port(values['apns-port'], '--apns-port'),
    fcmPort: port(values['fcm-port'], '--fcm-port'),
    controlPort: port(values['control-port'], '--control-port'),
    latencyMs: nonNegative(values['latency-ms'], '--latency-ms'),
    recordLimit: nonNegative(values['record-limit'], '--record-limit'),
    topic: values.topic,
    errorRate: nonNegative(values['error-rate'], '--error-rate'),
    timeoutRate: nonNegative(values['timeout-rate'], '--timeout-rate'),
  });
  const files = simulator.writeCredentials(resolve(values['credentials-dir']));
  const { apns } = simulator.credentials;
  process.stdout.write(
    `pushgate simulator apns=${simulator.apnsUrl} fcm=${simulator.fcmUrl} control=${simulator.controlUrl}\n` +
      `credentials ca=${files.ca} apnsKey=${files.apnsKey} apnsCert=${files.apnsCert} ` +
      `apnsCertKey=${files.apnsCertKey} fcmServiceAccount=${files.fcmServiceAccount} apnsInfo=${files.apnsInfo} ` +
      `keyId=${apns.keyId} teamId=${apns.teamId} topic=${apns.topic}\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`simulator: close after ${signal} failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(1);
});
