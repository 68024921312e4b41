// The Redis of scaled mode: one checked connection per process at start-up, a readiness probe, and
// the settings every Redis user in Mailroom shares (URL, key prefix). Embedded mode never loads it.
import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config/config.ts";
import type { Logger } from "../lib/logger.ts";
import { redactUrl } from "../storage/db.ts";

/** How long start-up waits for Redis before refusing to start. */
const CONNECT_TIMEOUT_MS = 5_000;
/** How long a readiness probe waits for PING. */
const PING_TIMEOUT_MS = 1_000;

import { RedisSetupError } from "./redis-setup-error.ts";

export { RedisSetupError };

export interface SharedRedis {
  url: string;
  /** Every key Mailroom writes starts with this (BullMQ's `prefix`, our own keys too). */
  prefix: string;
  /** The URL with its password redacted, for banners and logs. */
  location: string;
  /** A connection for commands that must fail fast when Redis is gone (readiness, limits). */
  client: Redis;
  /** Options for a further connection (BullMQ workers need their own blocking connection). */
  connectionOptions(): RedisOptions;
  /** Resolves when Redis answers PING within a second; rejects with the reason otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to REDIS_URL and checks it answers, or throws a RedisSetupError naming REDIS_URL. After
 * start-up the connection reconnects on its own; commands sent while it is down fail at once (no
 * offline queue), so readiness turns false instead of requests piling up.
 */
export async function connectRedis(redis: NonNullable<Config["redis"]>, log: Logger): Promise<SharedRedis> {
  const location = redactUrl(redis.url);
  const connectionOptions = (): RedisOptions => ({
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Reconnect forever, backing off to 2 s: a Redis restart must not need a Mailroom restart.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  const client = new Redis(redis.url, {
    ...connectionOptions(),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  let lastError: Error | undefined;
  client.on("error", (error: Error) => {
    // ioredis reports every failed reconnect; log the first of a run, not one per 2 s.
    if (lastError?.message !== error.message)
      log.warn({ redis: location, err: { message: error.message } }, "Redis connection problem");
    lastError = error;
  });
  client.on("ready", () => {
    if (lastError) log.info({ redis: location }, "Redis connection restored");
    lastError = undefined;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (cause) {
    client.disconnect();
    throw new RedisSetupError(
      `Redis at REDIS_URL=${location} is unreachable (${(cause as Error).message || "connection closed"}). Scaled mode needs it for jobs and shared limits: start Redis, fix REDIS_URL, or unset REDIS_URL for the embedded mode.`,
      { cause },
    );
  }
  // The job runner warns about settings BullMQ needs (noeviction, persistence) when it starts.
  return {
    url: redis.url,
    prefix: redis.prefix,
    location,
    client,
    connectionOptions,
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer to PING within 1 s")), PING_TIMEOUT_MS);
      });
      try {
        await Promise.race([client.ping(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
