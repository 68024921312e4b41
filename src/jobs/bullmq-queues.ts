// The producer side of the BullMQ runner: one BullMQ Queue per kind, made on first use (a process may
// enqueue kinds that only other processes run), sharing the runner's command connection, and the
// counts across every kind any process has used under the prefix.
import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { BACKOFF_TYPE } from "./bullmq-run.ts";
import { type JobStats, type RecurringJob, recurringSlot } from "./queue.ts";
import { checkKindName, type RedisKeys } from "./redis-keys.ts";

/** Attempts are counted and decided by the run (decideJobOutcome), so BullMQ's limit is never the one hit. */
const BULL_ATTEMPTS = 1_000_000;
/**
 * A new scheduler's first slot is at least this far ahead when it is declared: BullMQ starts one whose
 * start date has passed by its own clock at that moment, off the slots for good.
 */
export const SCHEDULER_START_MARGIN_MS = 10;

/**
 * The first slot of a scheduler declared at `now`, `nextAt` being the slot after the one under way
 * when the declaration began: a slot that has begun since, or begins within the margin, is skipped
 * (the one under way has just been queued, or with firstSlot "next" the first run is a slot later).
 */
export function schedulerStart(
  recurring: Pick<RecurringJob, "everyMs" | "offsetMs">,
  nextAt: number,
  now: number,
): number {
  return Math.max(nextAt, recurringSlot(recurring, now + SCHEDULER_START_MARGIN_MS).nextAt);
}

export class BullQueues {
  private readonly queues = new Map<string, Queue>();
  private readonly registrations = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly keys: RedisKeys,
    private readonly retention: { doneMs: number; deadMs: number },
    private readonly onError: (error: Error) => void,
  ) {}

  /** The kind's queue; the kind is recorded in `<prefix>:_kinds` so `stats()` anywhere counts it. */
  async get(kind: string): Promise<Queue> {
    let queue = this.queues.get(kind);
    if (!queue) {
      checkKindName(kind);
      queue = new Queue(kind, { connection: this.client, prefix: this.prefix });
      queue.on("error", (error) => this.onError(error));
      this.queues.set(kind, queue);
      this.registrations.set(
        kind,
        this.client.sadd(this.keys.kinds, kind).catch(() => undefined),
      );
    }
    await this.registrations.get(kind);
    return queue;
  }

  /**
   * Declares the recurring job's scheduler in its kind's queue, its first slot `schedulerStart`, so
   * slots fall at `n · everyMs + offsetMs`; returns that slot.
   */
  async upsertScheduler(recurring: RecurringJob, data: unknown, nextAt: number): Promise<number> {
    const { name, kind, everyMs, offsetMs = 0 } = recurring;
    const queue = await this.get(kind);
    const startDate = schedulerStart(recurring, nextAt, Date.now());
    await queue.upsertJobScheduler(
      name,
      { every: everyMs, startDate, ...(offsetMs > 0 ? { offset: offsetMs } : {}) },
      { name: kind, data, opts: this.jobOptions() },
    );
    return startDate;
  }

  /**
   * Options of every job: BullMQ retries with our backoff strategy until the run declares the job
   * dead; finished jobs are kept for the retention (BullMQ counts `age` in seconds).
   */
  jobOptions(): JobsOptions {
    return {
      attempts: BULL_ATTEMPTS,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: { age: Math.ceil(this.retention.doneMs / 1000) },
      removeOnFail: { age: Math.ceil(this.retention.deadMs / 1000) },
    };
  }

  /**
   * queued = waiting, delayed, prioritized and waiting-children; running = active; done = completed;
   * dead = failed. Summed over every kind recorded under the prefix.
   */
  async stats(): Promise<JobStats> {
    await Promise.all(this.registrations.values());
    const kinds = new Set([...(await this.client.smembers(this.keys.kinds)), ...this.queues.keys()]);
    const stats: JobStats = { queued: 0, running: 0, dead: 0, done: 0 };
    for (const kind of kinds) {
      const counts = await (await this.get(kind)).getJobCounts(
        "waiting",
        "delayed",
        "prioritized",
        "waiting-children",
        "active",
        "completed",
        "failed",
      );
      const n = (type: string) => counts[type] ?? 0;
      stats.queued += n("waiting") + n("delayed") + n("prioritized") + n("waiting-children");
      stats.running += n("active");
      stats.done += n("completed");
      stats.dead += n("failed");
    }
    return stats;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close().catch(() => undefined)));
  }
}
