// The limits every process shares in scaled mode, built from one Redis connection: the per-mailbox
// Graph limiter and the rate limiters (dashboard sign-in). The composition root calls
// createRedisLimits once and passes the parts to the Graph client and the admin service.
import { Redis } from "ioredis";
import type { RateLimiterFactory } from "../lib/limits.ts";
import type { Logger } from "../lib/logger.ts";
import type { MailboxLimiter } from "../providers/microsoft/limiter.ts";
import { RedisMailboxLimiter } from "./mailbox-limiter.ts";
import { redisRateLimiters } from "./rate-limiter.ts";

export interface RedisLimitsOptions {
  /**
   * A redis:// URL (connections opened here and closed by `close`) or a client the caller owns. A
   * client passed in should have `enableOfflineQueue: false`: otherwise, while Redis is unreachable,
   * Graph calls wait for it instead of falling back to per-process limits.
   */
  redis: string | Redis;
  /** Every key and channel starts with it, e.g. `mailroom:`. */
  prefix: string;
  log: Logger;
  mailbox?: { maxConcurrent?: number; leaseMs?: number; pollMs?: number };
}

export interface RedisLimits {
  mailboxLimiter: MailboxLimiter;
  /** For `new AdminService(…, rateLimiters)`: failed sign-ins counted across processes. */
  rateLimiters: RateLimiterFactory;
  close(): Promise<void>;
}

/** Connects (rejects with a message naming the URL's host when Redis cannot be reached) and subscribes. */
export async function createRedisLimits(options: RedisLimitsOptions): Promise<RedisLimits> {
  const log = options.log.child({ component: "limits" });
  const owned = typeof options.redis === "string";
  // Commands fail at once while disconnected (no offline queue), so callers fall back to per-process
  // counting instead of hanging until Redis is back.
  const redis =
    typeof options.redis === "string"
      ? new Redis(options.redis, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : options.redis;
  const subscriber = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true });
  let lastErrorAt = 0;
  const onError = (error: Error) => {
    if (Date.now() - lastErrorAt < 10_000) return;
    lastErrorAt = Date.now();
    log.warn({ err: error }, "Redis connection error (shared limits)");
  };
  if (owned) redis.on("error", onError);
  subscriber.on("error", onError);
  const mailboxLimiter = new RedisMailboxLimiter({ redis, prefix: options.prefix, log, ...options.mailbox });
  subscriber.on("message", (channel: string, message: string) => {
    if (channel === mailboxLimiter.channel) mailboxLimiter.onMessage(message);
  });
  try {
    if (owned) await redis.connect();
    await subscriber.connect();
    await subscriber.subscribe(mailboxLimiter.channel);
  } catch (error) {
    subscriber.disconnect();
    if (owned) redis.disconnect();
    throw new Error(`Could not connect to Redis for the shared limits: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return {
    mailboxLimiter,
    rateLimiters: redisRateLimiters(redis, options.prefix, log),
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
      if (owned) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
