// One run of one BullMQ job: the exclusive key's lock, the handler, and the outcome decided as the
// embedded runner decides it (job-outcome.ts), then handed to BullMQ: resolve = completed,
// `UnrecoverableError` = dead (failed set), `ScheduledRetryError` = retried after the delay the
// backoff strategy reads from it, `DelayedError` after `moveToDelayed` = snoozed, no attempt spent.
import { randomUUID } from "node:crypto";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { Redis } from "ioredis";
import type { Clock } from "../lib/clock.ts";
import { decideJobOutcome, describeError, type JobOutcome, messageOf } from "./job-outcome.ts";
import { type JobContext, type JobLogger, type ResolvedJobDefinition, RetryLaterError } from "./queue.ts";
import { ACQUIRE_EXCLUSIVE, COMPARE_AND_EXTEND, RELEASE_EXCLUSIVE, type RedisKeys } from "./redis-keys.ts";
import { boundLogger, type JobOutcomeEvent } from "./run-job.ts";

/** What a BullMQ job carries: the payload and the enqueue options the worker needs. */
export interface BullJobData {
  payload: unknown;
  /** `EnqueueOptions.exclusiveKey`. */
  exclusiveKey?: string;
  /** `EnqueueOptions.maxAttempts`; absent: the kind's, as the worker's definition says. */
  maxAttempts?: number;
}

/** The failure of a run that will be retried, carrying the delay the backoff strategy returns. */
export class ScheduledRetryError extends Error {
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
    this.name = "ScheduledRetryError";
  }
}

/** The custom backoff type every job is added with (BullMQ `backoff: { type }`). */
export const BACKOFF_TYPE = "mailroom";

/**
 * BullMQ's `settings.backoffStrategy`: the delay was decided by the run (full-jitter backoff or a
 * `RetryLaterError`'s); anything else (BullMQ's own failures) retries after a second.
 */
export function backoffStrategy(_attemptsMade: number, _type?: string, error?: Error): number {
  return error instanceof ScheduledRetryError ? error.delayMs : 1_000;
}

export interface BullRun {
  jobId: string;
  kind: string;
  controller: AbortController;
}

export interface BullRunDeps {
  client: Redis;
  keys: RedisKeys;
  clock: Clock;
  log: JobLogger;
  random: () => number;
  /** How long an exclusive key's lock holds without renewal; renewed every third of it. */
  exclusiveLeaseMs: number;
  /**
   * How long a job whose exclusive key is held waits before trying again, at most: the run that
   * releases the key wakes its waiters at once, so this only bounds a missed wake-up.
   */
  exclusiveRetryMs: number;
  /** Moves a delayed job of the kind to its queue's waiting list now (a released key's waiter). */
  promote(kind: string, jobId: string): Promise<void>;
  /** Registers a run for `stop()` and lock-loss aborts; returns its unregistration. */
  track(run: BullRun): () => void;
  count(kind: string, outcome: JobOutcome, event: Omit<JobOutcomeEvent, "kind" | "outcome">): void;
}

export async function runBullJob(
  d: BullRunDeps,
  definition: ResolvedJobDefinition,
  job: Job,
  token: string | undefined,
  bullSignal?: AbortSignal,
): Promise<void> {
  const jobId = job.id ?? "";
  const data = (job.data ?? {}) as BullJobData;
  const attempt = job.attemptsMade + 1;
  const maxAttempts = data.maxAttempts ?? definition.maxAttempts;
  const log = boundLogger(d.log, { jobId, kind: definition.kind, attempt });

  const lock = data.exclusiveKey
    ? await acquireExclusive(d, data.exclusiveKey, definition.kind, jobId)
    : undefined;
  if (lock === null && job.repeatJobKey !== undefined) {
    // A scheduler's slot: BullMQ made the next slot when this one started, so waiting would pile slots
    // up behind a long holder. The slot is skipped, as the embedded runner skips a slot whose previous
    // one has not started.
    log.debug({ scheduler: job.repeatJobKey }, "recurring slot skipped: its exclusive key is held");
    return;
  }
  if (lock === null) {
    log.debug({ retryInMs: d.exclusiveRetryMs }, "job waits: its exclusive key is held by another run");
    await job.moveToDelayed(Date.now() + jitter(d.exclusiveRetryMs, d.random), token);
    throw new DelayedError();
  }

  const controller = new AbortController();
  const onBullAbort = () => controller.abort(bullSignal?.reason ?? new Error("the job was cancelled"));
  bullSignal?.addEventListener("abort", onBullAbort, { once: true });
  const untrack = d.track({ jobId, kind: definition.kind, controller });
  const renewal = lock ? keepExclusive(d, lock, controller, log) : undefined;
  const startedAt = d.clock.now();
  log.debug({ maxAttempts }, "job started");

  let failure: unknown;
  let succeeded = false;
  try {
    const ctx: JobContext = { attempt, jobId, signal: controller.signal, log };
    await definition.handler(data.payload ?? null, ctx);
    succeeded = true;
  } catch (error) {
    failure = error;
  } finally {
    if (renewal) clearInterval(renewal);
    bullSignal?.removeEventListener("abort", onBullAbort);
    untrack();
    if (lock) await releaseExclusive(d, lock, log);
  }

  const durationMs = Math.max(0, d.clock.now() - startedAt);
  const next = decideJobOutcome({
    succeeded,
    failure,
    attempt,
    maxAttempts,
    backoff: definition.backoff,
    random: d.random,
  });
  d.count(definition.kind, next.outcome, { jobId, attempt, durationMs });
  if (next.outcome === "snoozed") {
    log.debug({ reason: messageOf(failure), snoozeMs: next.delayMs }, "job snoozed");
    // BullMQ's moveToDelayed does not count an attempt, so the next run has this run's number.
    await job.moveToDelayed(Date.now() + next.delayMs, token);
    throw new DelayedError();
  }
  if (next.outcome === "completed") {
    log.debug({ durationMs }, "job completed");
    return;
  }
  if (next.outcome === "dead") {
    log.error({ error: messageOf(failure), maxAttempts, permanent: next.permanent }, "job dead-lettered");
    throw new UnrecoverableError(describeError(failure));
  }
  log.warn(
    { error: messageOf(failure), retryInMs: next.delayMs, retryAfter: failure instanceof RetryLaterError },
    "job failed; will retry",
  );
  throw new ScheduledRetryError(next.delayMs, describeError(failure));
}

interface ExclusiveLock {
  key: string;
  waiters: string;
  value: string;
}

/** The lock, or null when another run holds it (this job is then among the key's waiters). */
async function acquireExclusive(
  d: BullRunDeps,
  exclusiveKey: string,
  kind: string,
  jobId: string,
): Promise<ExclusiveLock | null> {
  const lock = {
    key: d.keys.exclusive(exclusiveKey),
    waiters: d.keys.exclusiveWaiters(exclusiveKey),
    value: `${jobId}/${randomUUID()}`,
  };
  // Waiters outlive the lease: a holder that dies without releasing leaves them to their retry delay.
  const waitersTtlMs = 2 * d.exclusiveLeaseMs;
  const taken = await d.client.eval(
    ACQUIRE_EXCLUSIVE,
    2,
    lock.key,
    lock.waiters,
    lock.value,
    d.exclusiveLeaseMs,
    `${kind}:${jobId}`,
    waitersTtlMs,
  );
  return taken === 1 ? lock : null;
}

function keepExclusive(
  d: BullRunDeps,
  lock: ExclusiveLock,
  controller: AbortController,
  log: JobLogger,
): NodeJS.Timeout {
  const timer = setInterval(
    () => {
      d.client.eval(COMPARE_AND_EXTEND, 1, lock.key, lock.value, d.exclusiveLeaseMs).then(
        (extended) => {
          if (extended === 1 || controller.signal.aborted) return;
          log.warn({}, "exclusive key's lock lost; aborting this run");
          controller.abort(new Error("the job's exclusive lock lapsed and may be held by another run"));
        },
        (error: unknown) => log.warn({ error: messageOf(error) }, "could not renew the exclusive key's lock"),
      );
    },
    Math.max(1, Math.floor(d.exclusiveLeaseMs / 3)),
  );
  timer.unref();
  return timer;
}

async function releaseExclusive(d: BullRunDeps, lock: ExclusiveLock, log: JobLogger): Promise<void> {
  let waiters: unknown;
  try {
    waiters = await d.client.eval(RELEASE_EXCLUSIVE, 2, lock.key, lock.waiters, lock.value);
  } catch (error) {
    // The lock lapses by itself after its lease; the next holder waits at most that long.
    log.warn({ error: messageOf(error) }, "could not release the exclusive key's lock");
    return;
  }
  // A waiter not yet delayed (still on its way there) cannot be promoted: it retries after its delay.
  for (const waiter of Array.isArray(waiters) ? waiters : []) {
    const [kind, jobId] = String(waiter).split(":", 2);
    if (kind && jobId) await d.promote(kind, jobId).catch(() => undefined);
  }
}

/** `ms` plus up to a fifth more, so jobs waiting on one key do not all retry in the same instant. */
function jitter(ms: number, random: () => number): number {
  return Math.round(ms * (1 + random() / 5));
}
