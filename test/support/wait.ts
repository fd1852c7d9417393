export interface WaitOptions {
  /** How long the condition may take to hold before the wait fails. */
  timeoutMs?: number;
  /** Pause between two checks. */
  intervalMs?: number;
  /** Named in the error when the deadline passes. */
  what?: string;
}

/**
 * Resolves once `condition` holds, checking it every `intervalMs`; rejects when it still does not hold after
 * `timeoutMs`. The condition is checked once more at the deadline, so a slow machine costs time, not a failure.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
