import type { BackoffOptions } from "./queue.ts";

/**
 * Delay before retrying after the `attempt`-th run failed: "full jitter", uniform in
 * [0, min(maxMs, baseMs · 2^(attempt−1))] (AWS Architecture Blog, "Exponential Backoff and Jitter",
 * 2015). Jitter spreads retries of jobs that failed together (one throttled mailbox, one outage).
 */
export function backoffDelayMs(
  attempt: number,
  backoff: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 40);
  const ceilingMs = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceilingMs);
}
