// What differs between the embedded and the scaled mode, decided in one place: the Redis connection
// and the limits shared through it, and the job runner. Scaled mode's modules (ioredis, BullMQ) are
// loaded only when REDIS_URL is set, so the embedded default starts without them.
import type { Config } from "../config/config.ts";
import { EmbeddedJobRunner } from "../jobs/embedded-runner.ts";
import type { JobHandlerRegistry, JobQueue } from "../jobs/queue.ts";
import type { JobOutcomeEvent } from "../jobs/run-job.ts";
import type { Clock } from "../lib/clock.ts";
import type { RateLimiterFactory } from "../lib/limits.ts";
import type { Logger } from "../lib/logger.ts";
import type { MailboxLimiter } from "../providers/microsoft/limiter.ts";
import type { Storage } from "../storage/db.ts";
import type { JobRepository } from "../storage/repositories/job.repository.ts";
import type { SharedRedis } from "./redis.ts";
import { RedisSetupError } from "./redis-setup-error.ts";

export interface SharedLimits {
  mailboxLimiter?: MailboxLimiter;
  rateLimiters?: RateLimiterFactory;
}

export interface ModeInfrastructure {
  /** Scaled mode's Redis; undefined in embedded mode. */
  redis: SharedRedis | undefined;
  /** The limits every process shares (scaled), or the caller's; undefined = in-process limits. */
  limits: SharedLimits | undefined;
  close(): Promise<void>;
}

/**
 * Scaled mode: connects to Redis (a process that cannot reach it refuses before it opens the
 * database) and sets up the per-mailbox Graph limit and the sign-in rate limit across processes.
 */
export async function connectMode(
  config: Config,
  log: Logger,
  override: SharedLimits | undefined,
): Promise<ModeInfrastructure> {
  if (!config.redis) return { redis: undefined, limits: override, close: async () => {} };
  const { connectRedis } = await import("./redis.ts");
  const { createRedisLimits } = await import("../redis/limits.ts");
  const redis = await connectRedis(config.redis, log);
  const shared = await createRedisLimits({ redis: redis.client, prefix: `${redis.prefix}:`, log }).catch(
    async (cause: unknown) => {
      await redis.close();
      throw new RedisSetupError(
        `Redis at REDIS_URL=${redis.location} refused the shared limits (${(cause as Error).message}).`,
        { cause },
      );
    },
  );
  return {
    redis,
    limits: override ?? shared,
    close: async () => {
      await shared.close().catch(() => {});
      await redis.close().catch(() => {});
    },
  };
}

export type JobRunner = JobQueue & { stop(options?: { drainTimeoutMs?: number }): Promise<void> };

export interface JobRunnerDeps {
  config: Config;
  redis: SharedRedis | undefined;
  storage: Storage;
  repository: JobRepository;
  registry: JobHandlerRegistry;
  log: Logger;
  clock: Clock;
  onOutcome: (event: JobOutcomeEvent) => void;
  /** Embedded runner tuning (tests shorten the poll interval). */
  tuning?: { pollIntervalMs?: number; leaseMs?: number } | undefined;
}

/**
 * Scaled mode: jobs live in Redis under BullMQ and any process runs any job; jobs enqueued in a
 * transaction go through the relay table, so a commit is never lost between PostgreSQL and Redis.
 * Embedded mode: the SQL runner over the `jobs` table.
 */
export async function createJobRunner(d: JobRunnerDeps): Promise<JobRunner> {
  const common = {
    registry: d.registry,
    log: d.log,
    clock: d.clock,
    drainTimeoutMs: d.config.shutdownTimeoutMs,
    onOutcome: d.onOutcome,
  };
  if (d.redis) {
    const { BullmqJobRunner } = await import("../jobs/bullmq-runner.ts");
    return new BullmqJobRunner({
      ...common,
      connection: d.redis.url,
      prefix: d.redis.prefix,
      relay: { storage: d.storage },
      retention: d.config.retention.jobs,
    });
  }
  return new EmbeddedJobRunner({
    ...common,
    repository: d.repository,
    ...(d.tuning?.pollIntervalMs ? { pollIntervalMs: d.tuning.pollIntervalMs } : {}),
    ...(d.tuning?.leaseMs ? { leaseMs: d.tuning.leaseMs } : {}),
  });
}
