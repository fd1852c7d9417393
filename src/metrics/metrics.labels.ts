/** The label value that stands for every reason beyond the bound, or one that is not a plain name. */
export const OTHER_REASON = 'other';

const REASON_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Metric children by reason label. Provider reasons are a short fixed vocabulary, but they arrive from the network,
 * so only plain names are kept, at most `max` distinct ones; anything else is counted as `other`. Children are
 * created once and reused, so the hot path only looks one up.
 */
export class ReasonLabels<T> {
  private readonly children = new Map<string, T>();
  private other?: T;

  constructor(
    private readonly create: (reason: string) => T,
    private readonly max = 64,
  ) {}

  get(reason: string): T {
    const child = this.children.get(reason);
    if (child !== undefined) return child;
    if (this.children.size >= this.max || !REASON_PATTERN.test(reason) || reason === OTHER_REASON) {
      return (this.other ??= this.create(OTHER_REASON));
    }
    const created = this.create(reason);
    this.children.set(reason, created);
    return created;
  }
}
