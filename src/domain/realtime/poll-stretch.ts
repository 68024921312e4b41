// When polls are due faster than they complete, every account's interval is stretched by one factor
// (an effective interval = configured × factor) instead of building an unbounded backlog; the
// watchdog recomputes it each minute from the measured polling lag, and it returns to 1 once caught up.

/** Polling lag (now − last completed poll) over the polled accounts, in ms. */
export interface LagStats {
  accounts: number;
  p99Ms: number;
  maxMs: number;
}

export interface StretchConfig {
  intervalMs: number;
  /** The factor in force now (1 = the configured interval). */
  current: number;
  /** The most the interval is stretched (default 8). */
  maxFactor?: number;
}

/**
 * The next factor. Behind = the p99 lag exceeds two effective intervals (the oldest due poll is more
 * than one interval late): double the factor. Caught up = the p99 lag is within 1.25 effective
 * intervals: step down by a quarter (never below 1), so a deployment near its capacity does not
 * swing between the two. In between, keep it.
 */
export function decideStretch(lag: LagStats, config: StretchConfig): number {
  const max = config.maxFactor ?? 8;
  const current = Math.min(max, Math.max(1, config.current));
  if (lag.accounts === 0) return 1;
  const effective = config.intervalMs * current;
  if (lag.p99Ms > 2 * effective) return Math.min(max, current * 2);
  if (current > 1 && lag.p99Ms <= 1.25 * effective) return Math.max(1, Math.floor(current * 0.75 * 4) / 4);
  return current;
}
