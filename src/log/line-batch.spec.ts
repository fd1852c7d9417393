import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LineBatch, type Destination } from './line-batch';

/** Records what reaches the destination, one entry per write. */
function recorder(): Destination & { writes: string[] } {
  const writes: string[] = [];
  return { writes, write: (chunk: string) => void writes.push(chunk) };
}

const line = (i: number, pad = 90) => `{"i":${i},"pad":"${'x'.repeat(pad)}"}\n`;

describe('LineBatch', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pushgate-lines-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands lines on in whole-line chunks of at most the chunk size, in order', () => {
    const dest = recorder();
    const batch = new LineBatch(dest, 1024);
    const lines = Array.from({ length: 100 }, (_, i) => line(i));
    for (const l of lines) batch.write(l);
    batch.flushSync();
    expect(dest.writes.join('')).toBe(lines.join(''));
    expect(dest.writes.length).toBeGreaterThan(1);
    for (const chunk of dest.writes) {
      expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(1024);
      expect(chunk.endsWith('\n')).toBe(true);
    }
    // Full chunks: fewer writes than a chunk-sized share of the bytes, plus one.
    expect(dest.writes.length).toBeLessThanOrEqual(Math.ceil(Buffer.byteLength(lines.join('')) / (1024 - 103)) + 1);
  });

  it('counts bytes, not characters', () => {
    const dest = recorder();
    const batch = new LineBatch(dest, 100);
    const wide = `"${'é'.repeat(30)}"\n`; // 33 characters, 63 bytes
    batch.write(wide);
    batch.write(wide);
    expect(dest.writes).toEqual([wide]);
    expect(batch.pendingBytes).toBe(63);
  });

  it('passes a line longer than a chunk on its own', () => {
    const dest = recorder();
    const batch = new LineBatch(dest, 100);
    batch.write(line(1, 10));
    batch.write(line(2, 500));
    batch.write(line(3, 10));
    batch.flushSync();
    expect(dest.writes).toEqual([line(1, 10), line(2, 500), line(3, 10)]);
  });

  it('keeps lines until a chunk fills, and flush writes the rest', async () => {
    const file = join(dir, 'access.log');
    const boom = pino.destination({ dest: file, sync: true, minLength: 1, maxWrite: 4096 });
    const batch = new LineBatch(boom, 4096);
    batch.write(line(1));
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise<void>((resolve, reject) => batch.flush((error) => (error ? reject(error) : resolve())));
    expect(readFileSync(file, 'utf8')).toBe(line(1));
    expect(batch.pendingBytes).toBe(0);
    for (let i = 0; i < 200; i++) batch.write(line(i));
    // Everything but the last partial chunk is already in the file, written synchronously.
    const written = readFileSync(file, 'utf8');
    expect(written.length).toBeGreaterThan(line(1).length + 150 * line(0).length);
    expect(written.length + batch.pendingBytes).toBe(line(1).length + Array.from({ length: 200 }, (_, i) => line(i)).join('').length);
    boom.flushSync();
  });

  it('writes pending lines to the old file before reopening the path', () => {
    const file = join(dir, 'access.log');
    const boom = pino.destination({ dest: file, sync: true, minLength: 1, maxWrite: 4096 });
    const batch = new LineBatch(boom, 4096);
    batch.write(line(1));
    renameSync(file, `${file}.1`);
    batch.reopen();
    batch.write(line(2));
    batch.flushSync();
    expect(readFileSync(`${file}.1`, 'utf8')).toBe(line(1));
    expect(readFileSync(file, 'utf8')).toBe(line(2));
  });

  it('serves as a pino destination: one JSON object per line', () => {
    const file = join(dir, 'access.log');
    const boom = pino.destination({ dest: file, sync: true, minLength: 1, maxWrite: 4096 });
    const log = pino({ base: null }, new LineBatch(boom, 4096));
    for (let i = 0; i < 500; i++) log.info({ id: i, token: 'ab...cd' });
    log.flush();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
