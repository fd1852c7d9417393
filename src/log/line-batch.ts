import type { DestinationStream } from 'pino';

/** What a {@link LineBatch} writes to: a {@link LogFile}, or any destination whose `write` throws on failure. */
export type Destination = DestinationStream & {
  reopen?(): void;
  flushSync?(): void;
  flush?(callback: (error?: Error | null) => void): void;
};

/** Told of the outcome of every chunk written: the error, or undefined once a write succeeded. */
export type WriteReport = (error?: Error) => void;

function ignore(): void {}

/**
 * Gathers log lines into chunks of at most `chunkBytes` and hands each chunk to the destination in one write.
 *
 * One system call per chunk instead of one per line; the lines are joined once, when the chunk is written.
 *
 * A line longer than a chunk goes on its own. Nothing is held past `flush`, `flushSync` or `reopen`. A chunk the
 * destination fails to take is dropped and reported (`report`), never thrown at the code that logged a line: a
 * pino logger over this batch never throws.
 */
export class LineBatch implements DestinationStream {
  private lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly destination: Destination,
    private readonly chunkBytes: number,
    private readonly report: WriteReport = ignore,
  ) {}

  write(line: string): void {
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.chunkBytes) this.release();
    this.lines.push(line);
    this.bytes += size;
  }

  /** Writes out the pending lines, then calls back once the destination has them on disk (fsync). */
  flush(callback: (error?: Error | null) => void): void {
    this.release();
    if (this.destination.flush) this.destination.flush(callback);
    else callback();
  }

  /** Writes out the pending lines and waits for the disk. */
  flushSync(): void {
    this.release();
    this.destination.flushSync?.();
  }

  /**
   * Writes out the pending lines to the old file, then opens the path anew (after logrotate moved it). Throws when
   * the path cannot be opened; the old file then stays in use.
   */
  reopen(): void {
    this.release();
    this.destination.reopen?.();
  }

  /** Bytes gathered and not yet handed to the destination. */
  get pendingBytes(): number {
    return this.bytes;
  }

  /** Drops the pending lines unwritten. */
  discard(): void {
    this.lines = [];
    this.bytes = 0;
  }

  /** Hands the pending lines to the destination in one write; returns the error when it failed (lines dropped). */
  release(): Error | undefined {
    if (this.lines.length === 0) return undefined;
    const chunk = this.lines.length === 1 ? this.lines[0] : this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    try {
      this.destination.write(chunk);
    } catch (error) {
      const failure = typeof error === 'object' && error !== null ? (error as Error) : new Error(String(error));
      this.report(failure);
      return failure;
    }
    this.report();
    return undefined;
  }
}
