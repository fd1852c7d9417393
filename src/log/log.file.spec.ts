import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineBatch, type Destination } from './line-batch';
import { LogFile } from './log.file';

describe('LogFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'pushgate-logfile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('throws a full disk at the caller (/dev/full fails every write with ENOSPC), and goes on', () => {
    const file = LogFile.open('/dev/full');
    expect(() => file.write('{"a":1}\n')).toThrow(expect.objectContaining({ code: 'ENOSPC' }) as Error);
    expect(() => file.flushSync()).not.toThrow();
    file.close();
  });

  it('keeps writing to the old file when the path cannot be opened again', () => {
    const logs = join(dir, 'logs');
    const file = LogFile.open(join(logs, 'access.log'));
    file.write('one\n');
    renameSync(logs, `${logs}.1`);
    writeFileSync(logs, ''); // a file where the directory was
    expect(() => file.reopen()).toThrow();
    file.write('two\n');
    expect(readFileSync(join(`${logs}.1`, 'access.log'), 'utf8')).toBe('one\ntwo\n');
    file.close();
  });

  it('has nothing to reopen on stdout', () => {
    expect(() => LogFile.stdout().reopen()).not.toThrow();
  });

  it('cuts the file back to a mark, unless something was written after the expected end', () => {
    const path = join(dir, 'access.log');
    const file = LogFile.open(path);
    file.write('kept\n');
    const from = file.mark();
    file.write('taken back\n');
    const to = file.mark();
    file.write('later\n');
    expect(file.rollback(from, to)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('kept\ntaken back\nlater\n');
    expect(file.rollback(from)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('kept\n');
    file.close();
  });

  it("marks the file's length, from a file that already had lines and after a reopen", () => {
    const path = join(dir, 'access.log');
    writeFileSync(path, 'from before\n');
    const file = LogFile.open(path);
    expect(file.mark()).toBe(statSync(path).size);
    file.write('line\n');
    expect(file.mark()).toBe(statSync(path).size);
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'another\n');
    file.reopen();
    expect(file.mark()).toBe(statSync(path).size);
    file.write('next\n');
    expect(file.mark()).toBe(statSync(path).size);
    expect(file.rollback(statSync(path).size - 'next\n'.length)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('another\n');
    file.close();
  });

  it('cuts nothing from a file that another process truncated or appended to since it was written', () => {
    const path = join(dir, 'access.log');
    const file = LogFile.open(path);
    file.write('first line\n');
    const from = file.mark();
    file.write('second line\n');
    // logrotate's copytruncate: the file is emptied under the open descriptor.
    truncateSync(path, 0);
    expect(file.rollback(from)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('');
    file.write('third\n');
    const to = file.mark();
    appendFileSync(path, 'someone else\n');
    expect(file.rollback(to)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('third\nsomeone else\n');
    file.close();
  });
});

describe('LogFile on a disk that fills up', () => {
  it('ends a line the disk cut short before the next one, also after a rollback to inside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-logfile-'));
    const path = join(dir, 'access.log');
    const file = LogFile.open(path);
    file.write('{"a":1}\n{"b":');
    const from = file.mark();
    file.write('2}\n');
    expect(file.rollback(from)).toBe(true);
    file.write('{"c":3}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"b":\n{"c":3}\n');
    file.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('LineBatch over a failing destination', () => {
  it('drops and reports the chunk that failed instead of throwing, and reports the next success', () => {
    let fail = true;
    const written: string[] = [];
    const dest: Destination = {
      write: (chunk: string) => {
        if (fail) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        written.push(chunk);
      },
    };
    const reports: (string | undefined)[] = [];
    const batch = new LineBatch(dest, 10, (error) => reports.push(error && 'code' in error ? String(error.code) : undefined));
    batch.write('aaaa\n');
    expect(() => batch.write('bbbbbbbb\n')).not.toThrow();
    expect(reports).toEqual(['ENOSPC']);
    fail = false;
    expect(batch.release()).toBeUndefined();
    expect(written).toEqual(['bbbbbbbb\n']);
    expect(reports).toEqual(['ENOSPC', undefined]);
  });
});
