// What happens after one callback attempt (webhook delivery or notify_url): delivered, try again
// later, or give up. Pure, so the schedule is table-tested and the same for every callback.

/**
 * Waits after failed attempts 1…7: 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 14 h (about 23 h in all),
 * each jittered by ±20 % so endpoints that failed together are not retried together.
 */
export const DEFAULT_RETRY_DELAYS_MS = [
  30_000,
  2 * 60_000,
  10 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  6 * 3_600_000,
  14 * 3_600_000,
] as const;

/** An HTTP answer, or no answer (`retryable` false when trying again cannot help, e.g. a refused address). */
export type AttemptResult = { status: number } | { error: string; retryable: boolean };

export type AttemptOutcome =
  | { kind: "delivered" }
  | { kind: "retry"; error: string; delayMs: number }
  | { kind: "failed"; error: string };

export function afterAttempt(
  result: AttemptResult,
  attempt: number,
  schedule: { maxAttempts: number; retryDelaysMs: readonly number[] },
  random: () => number,
): AttemptOutcome {
  let error: string;
  let retryable = true;
  if ("status" in result) {
    if (result.status >= 200 && result.status < 300) return { kind: "delivered" };
    error =
      result.status >= 300 && result.status < 400
        ? `HTTP ${result.status}: redirects are not followed`
        : `HTTP ${result.status}`;
  } else {
    error = result.error;
    retryable = result.retryable;
  }
  if (!retryable || attempt >= schedule.maxAttempts) return { kind: "failed", error };
  return { kind: "retry", error, delayMs: retryDelay(schedule.retryDelaysMs, attempt, random) };
}

export function retryDelay(delays: readonly number[], attempt: number, random: () => number): number {
  const base = delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
  return Math.round(base * (0.8 + 0.4 * random()));
}
