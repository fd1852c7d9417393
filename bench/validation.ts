// Time the global validation pipe takes for one POST /push body: 1,000 tokens in one notification, every usual field.
// Standalone, on the build: npm run build && npx node bench/validation.ts [iterations] [build directory, default dist]

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './lib/processes.ts';

const require = createRequire(`${ROOT}/`);
require('reflect-metadata');
const iterations = Number(process.argv[2] ?? 2000);
const build = process.argv[3] ?? 'dist';
interface Pipe {
  transform(value: unknown, metadata: { type: string; metatype: unknown; data: string }): Promise<unknown>;
}
const { createValidationPipe } = require(`./${build}/http/validation.pipe.js`) as { createValidationPipe: () => Pipe };
// The request model moved from push/ to notification/: either build can be measured.
const modelPath = fs.existsSync(path.join(ROOT, build, 'notification/notification.dto.js'))
  ? 'notification/notification.dto.js'
  : 'push/push.dto.js';
const { PushRequestDto } = require(`./${build}/${modelPath}`) as { PushRequestDto: unknown };

const body = {
  notifications: [
    {
      token: Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0')),
      platform: 1,
      message: 'Hello',
      title: 'Greetings',
      badge: 1,
      sound: 'default',
      expiry: 3600,
      extend: [{ key: 'url', val: 'app://inbox/42' }],
    },
  ],
};
const pipe = createValidationPipe();
const metadata = { type: 'body', metatype: PushRequestDto, data: '' };

async function round(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await pipe.transform(body, metadata);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

await round(Math.min(500, iterations));
const times = await round(iterations);
const at = (q: number): string => times[Math.floor(q * (times.length - 1))].toFixed(3);
console.log(`validation of a 1,000-token request, ${iterations} runs: median ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms`);
