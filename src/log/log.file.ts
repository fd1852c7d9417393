import { closeSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** How long one write waits in all for a full pipe (EAGAIN) before it counts as failed. */
const PIPE_FULL_WAIT_MS = 1000;
const PIPE_FULL_STEP_MS = 10;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** A failed fsync (a pipe, a terminal, a disk already reported through its writes) leaves nothing to do. */
function ignore(): void {}

/** The length of the file open as `fd`, 0 when it cannot be read (a device such as /dev/full). */
function sizeOf(fd: number): number {
  try {
    return fstatSync(fd).size;
  } catch {
    return 0;
  }
}

/**
 * A log's file descriptor, written synchronously. Every failure is thrown to the caller, who decides what it means
 * (a refused request, a counted line): nothing here retries a full disk, emits an unhandled event or ends the
 * process, which sonic-boom did (an `error` event without a listener, `flushSync` retrying ENOSPC forever, a
 * `reopen` of stdout throwing).
 *
 * A write the disk cut short leaves a torn line; the next write starts with a newline, so that only that line is
 * lost and the next one parses.
 */
export class LogFile {
  private torn = false;
  /**
   * The file's length, kept here rather than asked of the kernel on every {@link mark}: this process is the file's
   * only writer. Read from the file when it is opened or reopened, and again before a {@link rollback} cuts it, in
   * case something else changed it meanwhile (logrotate's copytruncate).
   */
  private length: number;

  private constructor(
    private fd: number,
    /** The path, or undefined for stdout and stderr (nothing to reopen). */
    readonly path?: string,
  ) {
    this.length = path === undefined ? 0 : sizeOf(fd);
  }

  static stdout(): LogFile {
    return new LogFile(1);
  }

  static stderr(): LogFile {
    return new LogFile(2);
  }

  static open(path: string): LogFile {
    return new LogFile(LogFile.openPath(path), path);
  }

  private static openPath(path: string): number {
    mkdirSync(dirname(path), { recursive: true });
    // Readable too, so that a rollback can tell whether the file now ends inside a line.
    return openSync(path, 'a+', 0o644);
  }

  /** Writes all of `data` or throws; a full pipe is waited for, {@link PIPE_FULL_WAIT_MS} at most. */
  write(data: string): void {
    const buffer = Buffer.from(this.torn ? `\n${data}` : data);
    let offset = 0;
    let waited = 0;
    while (offset < buffer.length) {
      try {
        const written = writeSync(this.fd, buffer, offset);
        offset += written;
        this.length += written;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && waited < PIPE_FULL_WAIT_MS) {
          Atomics.wait(pause, 0, 0, PIPE_FULL_STEP_MS);
          waited += PIPE_FULL_STEP_MS;
          continue;
        }
        if (offset > 0) this.torn = true;
        throw error;
      }
    }
    this.torn = false;
  }

  /** The file's length (a file), to {@link rollback} to; undefined for a pipe. */
  mark(): number | undefined {
    return this.path === undefined ? undefined : this.length;
  }

  /**
   * Where the first byte after `pending` bytes not yet written will land (a file): past the newline that ends a torn
   * line first. Undefined for a pipe.
   */
  markAfter(pending: number): number | undefined {
    return this.path === undefined ? undefined : this.length + (this.torn ? 1 : 0) + pending;
  }

  /**
   * Cuts the file back to `mark`, removing what was written since, when its length is still `expected` (nothing
   * else was written meanwhile) or `expected` is not given. Nothing is cut from a file whose length is not the one
   * this process wrote it to (another process truncated or appended to it). Best effort: false when it did not.
   */
  rollback(mark: number | undefined, expected?: number): boolean {
    if (mark === undefined || this.path === undefined) return false;
    try {
      if (expected !== undefined && this.length !== expected) return false;
      const size = fstatSync(this.fd).size;
      if (size !== this.length || mark > size) {
        this.length = size;
        return false;
      }
      ftruncateSync(this.fd, mark);
      this.length = mark;
      const last = Buffer.alloc(1);
      this.torn = mark > 0 && readSync(this.fd, last, 0, 1, mark - 1) === 1 && last[0] !== 0x0a;
      return true;
    } catch {
      return false;
    }
  }

  /** Gets what was written onto the disk on libuv's thread pool, then calls back. */
  flush(callback: () => void): void {
    fsync(this.fd, () => callback());
  }

  /** Gets what was written onto the disk before returning; errors are ignored (see {@link ignore}). */
  flushSync(): void {
    try {
      fsyncSync(this.fd);
    } catch {
      ignore();
    }
  }

  /**
   * Opens the path anew (after logrotate moved the file) and closes the old descriptor. Throws when the new file
   * cannot be opened, and the old one stays in use. stdout and stderr have nothing to reopen.
   */
  reopen(): void {
    if (this.path === undefined) return;
    const fd = LogFile.openPath(this.path);
    const old = this.fd;
    this.fd = fd;
    this.length = sizeOf(fd);
    this.torn = false;
    try {
      closeSync(old);
    } catch {
      ignore();
    }
  }

  close(): void {
    if (this.path === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      ignore();
    }
  }
}
