import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogService } from './log.service';

describe('LogService.journal', () => {
  let dir: string;
  let path: string;
  let logs: LogService;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pushgate-journal-'));
    path = join(dir, 'access.log');
    logs = new LogService({ access_log: path, error_log: 'discard', level: 'error', format: 'json' });
  });
  afterEach(() => {
    logs.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the lines pending from before with its own, and takes back only its own', () => {
    logs.accessLine('{"type":"succeeded-push","id":"a"}\n');
    const entry = logs.journal(() => logs.accessLine('{"type":"accepted-push","id":"b"}\n'));
    expect(readFileSync(path, 'utf8')).toBe('{"type":"succeeded-push","id":"a"}\n{"type":"accepted-push","id":"b"}\n');
    expect(entry).toEqual({ from: '{"type":"succeeded-push","id":"a"}\n'.length, to: readFileSync(path).length });
    expect(logs.withdraw(entry!)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('{"type":"succeeded-push","id":"a"}\n');
  });

  it('takes back nothing once other lines followed its own', () => {
    const entry = logs.journal(() => logs.accessLine('{"type":"accepted-push","id":"b"}\n'));
    logs.journal(() => logs.accessLine('{"type":"accepted-push","id":"c"}\n'));
    expect(logs.withdraw(entry!)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('{"type":"accepted-push","id":"b"}\n{"type":"accepted-push","id":"c"}\n');
  });
});
