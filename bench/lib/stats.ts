// Rounding, percentiles and latency summaries.

export function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** The p-th percentile of an ascending array (nearest rank), NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One answered request: completion time since the start of the load (ms), latency (ms), HTTP status. */
export type Response = [atMs: number, latencyMs: number, status: number];

export interface LatencyStats {
  requests: number;
  ok: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function latencyStats(responses: readonly Response[]): LatencyStats {
  const ok = responses.filter((r) => r[2] === 200);
  const sorted = ok.map((r) => r[1]).sort((a, b) => a - b);
  return {
    requests: responses.length,
    ok: ok.length,
    non2xx: responses.length - ok.length,
    p50Ms: round(percentile(sorted, 50), 2),
    p99Ms: round(percentile(sorted, 99), 2),
    maxMs: round(sorted[sorted.length - 1], 2),
  };
}

/** Cumulative histogram buckets as [upper bound in seconds, count]. */
export type Buckets = [le: number, count: number][];

/** The difference of two bucket scrapes: its share within `withinS`, and percentiles interpolated in the buckets. */
export function bucketStats(before: Buckets, after: Buckets, withinS: number) {
  const counts: Buckets = after.map(([le, c], i) => [le, c - (before[i]?.[1] ?? 0)]);
  const total = counts.at(-1)?.[1] ?? 0;
  const quantile = (q: number): number => {
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const [le, c] of counts) {
      if (c >= rank) return le === Infinity ? lower : lower + ((le - lower) * (rank - below)) / Math.max(1, c - below);
      lower = le;
      below = c;
    }
    return NaN;
  };
  const within = counts.find(([le]) => le === withinS)?.[1] ?? NaN;
  return {
    requests: total,
    shareWithin20Ms: round(within / total, 4),
    p50Ms: round(quantile(0.5) * 1000, 1),
    p99Ms: round(quantile(0.99) * 1000, 1),
  };
}
