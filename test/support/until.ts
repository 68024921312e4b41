// Waiting in tests: poll a condition until it holds, and fail at a deadline naming what was awaited.
// Tests never sleep for a fixed time: a sleep is either too short on a busy machine or wasted on an
// idle one.

export interface UntilOptions {
  /** How long to keep trying before failing. Default 10 s. */
  timeoutMs?: number;
  /** Pause between checks. Default 10 ms. */
  intervalMs?: number;
  /** Extra context for the failure message, evaluated at the deadline (e.g. what was seen instead). */
  detail?: () => string;
}

type Falsy = undefined | null | false | 0 | "";

/**
 * Calls `check` until it returns a truthy value and resolves with that value. At the deadline it
 * rejects with "Timed out after N ms waiting for <what>". An error thrown by `check` ends the wait
 * at once (e.g. a worker process that exited).
 */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  options: number | UntilOptions = {},
): Promise<Exclude<T, Falsy>> {
  const {
    timeoutMs = 10_000,
    intervalMs = 10,
    detail,
  } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, Falsy>;
    if (Date.now() > deadline) {
      const context = detail ? ` (${detail()})` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${context}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
