import type { InvalidTokenDto } from './feedback.dto';

interface Entry {
  readonly at: number;
  readonly token: InvalidTokenDto;
}

/** The most recent dead tokens in a fixed-size ring: the newest replaces the oldest. */
export class InvalidTokenHistory {
  private readonly ring: (Entry | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<Entry | undefined>(capacity);
  }

  add(token: InvalidTokenDto, at: number): void {
    if (this.capacity === 0) return;
    this.ring[this.next] = { at, token };
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first: those reported at or after `since` (ms since the epoch), at most `limit`. */
  list(since = 0, limit = this.capacity): InvalidTokenDto[] {
    const result: InvalidTokenDto[] = [];
    for (let i = 0; i < this.capacity && result.length < limit; i++) {
      const entry = this.ring[(this.next + i) % this.capacity];
      if (entry !== undefined && entry.at >= since) result.push(entry.token);
    }
    return result;
  }
}
