// The two limits Mailroom applies, as interfaces: each has an in-process implementation (embedded mode)
// and a Redis one (src/redis/, scaled mode) that holds across every process. See ADR 0005.

/** Frees the slots taken by `acquire`. Calling it again does nothing. */
export type Release = () => void;

/**
 * At most `maxConcurrent` slots in use per key, callers served first come, first served. A caller
 * may weigh more than one slot (a Graph `$batch` runs up to 4 requests at once).
 */
export interface ConcurrencyLimiter {
  readonly maxConcurrent: number;
  /**
   * Resolves once `weight` slots of `key` are held. When `signal` aborts first, the caller leaves the
   * queue and the promise rejects with the signal's reason.
   */
  acquire(key: string, weight?: number, signal?: AbortSignal): Promise<Release>;
  /** Runs `task` holding `weight` slots of `key`; they are released when it settles. */
  run<T>(key: string, task: () => Promise<T>, weight?: number, signal?: AbortSignal): Promise<T>;
}

/** Counts events per key over a sliding window (e.g. failed sign-ins per email). */
export interface RateLimiter {
  hit(key: string, now: number): Promise<void>;
  /** 0 when another event is allowed now, else how long until the oldest counted one leaves the window. */
  retryAfterMs(key: string, now: number): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface RatePolicy {
  limit: number;
  windowMs: number;
}

/** Builds one rate limiter per named policy (`name` keeps the keys of different limits apart). */
export type RateLimiterFactory = (name: string, policy: RatePolicy) => RateLimiter;

/** A weight as the limiter counts it: at least one slot, at most all of them. */
/** Runs `task` holding `weight` slots of `key`, released when it settles (each limiter's `run`). */
export async function withSlots<T>(
  limiter: Pick<ConcurrencyLimiter, "acquire">,
  key: string,
  task: () => Promise<T>,
  weight: number,
  signal: AbortSignal | undefined,
): Promise<T> {
  const release = await limiter.acquire(key, weight, signal);
  try {
    return await task();
  } finally {
    release();
  }
}

export function clampWeight(weight: number, maxConcurrent: number): number {
  if (!Number.isFinite(weight)) return 1;
  return Math.max(1, Math.min(Math.floor(weight), maxConcurrent));
}

/**
 * The grant decision, shared by both implementations (the Redis scripts mirror it): a newcomer takes
 * slots at once only when nobody is queued (FIFO: nobody overtakes a queued caller, even when it would
 * fit) and its weight fits.
 */
export function admitsNewcomer(inUse: number, queued: number, weight: number, max: number): boolean {
  return queued === 0 && inUse + weight <= max;
}

/**
 * How many queued callers, from the head, are granted when `inUse` slots are taken: in order, while
 * the head's weight fits. A head that does not fit blocks those behind it (no overtaking).
 */
export function grantsFromHead(inUse: number, queuedWeights: readonly number[], max: number): number {
  let used = inUse;
  let granted = 0;
  for (const weight of queuedWeights) {
    if (used + weight > max) break;
    used += weight;
    granted++;
  }
  return granted;
}

/**
 * The sliding window's answer, shared by both implementations: 0 when fewer than `limit` events
 * happened in the window ending at `now`, else the wait until the oldest of the last `limit` leaves it.
 * `times` ascending.
 */
export function slidingWindowRetryAfterMs(times: readonly number[], now: number, policy: RatePolicy): number {
  const recent = times.filter((t) => t > now - policy.windowMs);
  if (recent.length < policy.limit) return 0;
  return recent[recent.length - policy.limit]! + policy.windowMs - now;
}

/** The in-process rate limiter (embedded mode, and scaled mode's fallback while Redis is unreachable). */
export class SlidingWindowLimiter implements RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly policy: RatePolicy) {}

  async hit(key: string, now: number): Promise<void> {
    const recent = this.recent(key, now);
    recent.push(now);
    // Only the last `limit` events can ever decide an answer.
    this.hits.set(key, recent.slice(-this.policy.limit));
    if (this.hits.size > 10_000) this.prune(now);
  }

  async retryAfterMs(key: string, now: number): Promise<number> {
    return slidingWindowRetryAfterMs(this.hits.get(key) ?? [], now, this.policy);
  }

  async reset(key: string): Promise<void> {
    this.hits.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.hits.get(key) ?? []).filter((t) => t > now - this.policy.windowMs);
  }

  private prune(now: number): void {
    for (const [key, times] of this.hits)
      if (!times.some((t) => t > now - this.policy.windowMs)) this.hits.delete(key);
  }
}

export const inProcessRateLimiters: RateLimiterFactory = (_name, policy) => new SlidingWindowLimiter(policy);
