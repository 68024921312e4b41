// Sliding-window rate limits shared by every process (scaled mode): one sorted set per key, scored by
// the event's time, trimmed to the last `limit` events (only those can decide an answer). Same answers
// as the in-process SlidingWindowLimiter (lib/limits.ts) for the same events and clock. Keys are
// hashed, so no email address or client address is stored in Redis. While Redis cannot be reached,
// each process counts on its own (the embedded behaviour) rather than refusing every sign-in.
import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import {
  type RateLimiter,
  type RateLimiterFactory,
  type RatePolicy,
  SlidingWindowLimiter,
} from "../lib/limits.ts";
import type { Logger } from "../lib/logger.ts";
import { LuaScript } from "./script.ts";

// KEYS: the window. ARGV: op (hit | wait), now, windowMs, limit, member.
const WINDOW_LUA = `
local key, op = KEYS[1], ARGV[1]
local now, window, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if op == 'hit' then
  redis.call('ZADD', key, now, ARGV[5])
  redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
  redis.call('PEXPIRE', key, window)
  return 0
end
local n = redis.call('ZCARD', key)
if n < limit then return 0 end
local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
`;
const script = new LuaScript(WINDOW_LUA);

export class RedisRateLimiter implements RateLimiter {
  private readonly fallback: SlidingWindowLimiter;
  private lastWarningAt = 0;

  constructor(
    private readonly redis: Redis,
    /** e.g. `mailroom:ratelimit:sign-in-email:` */
    private readonly keyPrefix: string,
    private readonly policy: RatePolicy,
    private readonly log: Logger,
  ) {
    this.fallback = new SlidingWindowLimiter(policy);
  }

  async hit(key: string, now: number): Promise<void> {
    try {
      await this.run("hit", key, now);
    } catch (error) {
      this.warn(error);
      await this.fallback.hit(key, now);
    }
  }

  async retryAfterMs(key: string, now: number): Promise<number> {
    try {
      return Math.max(0, await this.run("wait", key, now));
    } catch (error) {
      this.warn(error);
      return this.fallback.retryAfterMs(key, now);
    }
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    try {
      await this.redis.del(this.keyOf(key));
    } catch (error) {
      this.warn(error);
    }
  }

  private async run(op: "hit" | "wait", key: string, now: number): Promise<number> {
    const { windowMs, limit } = this.policy;
    const member = `${now}:${randomUUID()}`;
    return Number(await script.run(this.redis, [this.keyOf(key)], [op, now, windowMs, limit, member]));
  }

  private keyOf(key: string): string {
    return this.keyPrefix + createHash("sha256").update(key).digest("base64url");
  }

  private warn(error: unknown): void {
    const now = Date.now();
    if (now - this.lastWarningAt < 10_000) return;
    this.lastWarningAt = now;
    this.log.warn({ err: error }, "Redis is unreachable: rate limits count per process until it is back");
  }
}

/** One limiter per named policy, keys under `${prefix}ratelimit:${name}:`. */
export function redisRateLimiters(redis: Redis, prefix: string, log: Logger): RateLimiterFactory {
  return (name, policy) => new RedisRateLimiter(redis, `${prefix}ratelimit:${name}:`, policy, log);
}
