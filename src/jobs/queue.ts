// The job interface every caller uses. Two implementations share it: the embedded runner over the SQL
// database (embedded-runner.ts) and, in scaled mode, a BullMQ adapter on Redis (docs/adr/0002-jobs.md).
// Callers enqueue and handlers run; neither knows which implementation is underneath.
import type { Kysely } from "kysely";
import type { Database } from "../storage/schema.ts";

/**
 * A unit of work (`storage.transaction(fn)` hands one to `fn`). A job enqueued with it exists only if
 * the transaction commits, and then it cannot be lost: the embedded runner writes the job row in the
 * transaction; the BullMQ runner writes a relay row that is moved to Redis after the commit.
 */
export type JobTransaction = Kysely<Database>;

/**
 * Payload type of each job kind. A module adds its kinds by declaration merging:
 *
 *     declare module "../jobs/queue.ts" {
 *       interface JobPayloads { "webhooks.deliver": { deliveryId: string } }
 *     }
 *
 * Payloads are stored as JSON: keep them to plain data, and put ids in them rather than secrets.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in the modules that own each kind
export interface JobPayloads {}

export type JobKind = keyof JobPayloads & string;

export type JobStatus = "queued" | "running" | "done" | "dead";

export interface EnqueueOptions {
  /**
   * Exactly-once per key: a second enqueue with the same key returns the existing job, whatever its
   * status (a finished job is not run again). Keys are global across kinds, so namespace them
   * ("webhook:<deliveryId>"). At most 300 characters.
   */
  idempotencyKey?: string;
  /** Epoch ms before which the job does not run. Exclusive with `delayMs`. */
  runAt?: number;
  /** Run no earlier than this many ms from now. Exclusive with `runAt`. */
  delayMs?: number;
  /** Overrides the kind's `maxAttempts` for this job. */
  maxAttempts?: number;
  /**
   * At most one job holding this key runs at a time, across every process and kind (one sync per
   * account: `realtime.sync:<accountId>`). A due job whose key is held waits, without spending an
   * attempt, until the holder finishes or its lease lapses. At most 300 characters.
   */
  exclusiveKey?: string;
  /** Write the job in this unit of work: it exists if and only if the transaction commits. */
  transaction?: JobTransaction;
}

/**
 * A job enqueued on a fixed period, once per slot across all processes: slot n runs at
 * `n · everyMs + offsetMs`. Declaring the same name again replaces the period and payload.
 */
export interface RecurringJob<K extends JobKind = JobKind> {
  /** Unique across the deployment ("token-refresh.sweep"). At most 200 characters. */
  name: string;
  kind: K;
  payload: JobPayloads[K];
  everyMs: number;
  /** Where in the period each slot falls, 0 ≤ offsetMs < everyMs. Default 0. */
  offsetMs?: number;
  /** Each slot's job is enqueued with this `exclusiveKey` (see `EnqueueOptions`). */
  exclusiveKey?: string;
  /**
   * Where a new recurring job starts: "current" (the default) runs the slot it was declared in at
   * once; "next" waits for the next slot, for a declarer that has just done the work itself.
   */
  firstSlot?: "current" | "next";
}

export interface EnqueueResult {
  id: string;
  /** False when the idempotency key already named a job; `id` is then that job's id. */
  created: boolean;
}

export interface JobStats {
  queued: number;
  running: number;
  dead: number;
  done: number;
}

export interface StopOptions {
  /** How long to wait for running handlers before aborting their `signal` and returning. */
  drainTimeoutMs?: number;
}

/** One job of `enqueueMany`. */
export interface BatchedJob<K extends JobKind = JobKind> {
  kind: K;
  payload: JobPayloads[K];
  options?: Omit<EnqueueOptions, "transaction">;
}

export interface JobQueue {
  enqueue<K extends JobKind>(
    kind: K,
    payload: JobPayloads[K],
    options?: EnqueueOptions,
  ): Promise<EnqueueResult>;
  /**
   * Enqueues several jobs, each as `enqueue` would (keys, delays, attempts), in `transaction` when
   * given: with it, all of them exist if and only if it commits. Results are in the jobs' order.
   * Where the runner can, this costs a few round trips for the batch rather than some per job.
   */
  enqueueMany(
    jobs: readonly BatchedJob[],
    options?: { transaction?: JobTransaction },
  ): Promise<EnqueueResult[]>;
  /**
   * Declares (or replaces) a recurring job. Idempotent: every process may declare the same schedule
   * at start-up; each slot is still enqueued once.
   */
  schedule<K extends JobKind>(recurring: RecurringJob<K>): Promise<void>;
  /** Removes a recurring job by name; jobs already enqueued for it still run. */
  unschedule(name: string): Promise<void>;
  /** Starts taking jobs of the registered kinds. Enqueueing works without it. */
  start(): Promise<void>;
  /** Stops taking new jobs and waits for running ones, up to `drainTimeoutMs`. */
  stop(options?: StopOptions): Promise<void>;
  /** Jobs by status, across all kinds. */
  stats(): Promise<JobStats>;
}

/** `enqueueMany` as one `enqueue` per job, in order (for runners where that costs no more). */
export async function enqueueEach(
  queue: Pick<JobQueue, "enqueue">,
  jobs: readonly BatchedJob[],
  options: { transaction?: JobTransaction } = {},
): Promise<EnqueueResult[]> {
  const results: EnqueueResult[] = [];
  for (const job of jobs)
    results.push(await queue.enqueue(job.kind, job.payload, { ...job.options, ...options }));
  return results;
}

/** The subset of pino's logger the jobs module uses (pino's `Logger` satisfies it). */
export interface JobLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobContext {
  /** 1 on the first run, 2 on the first retry, and so on. */
  attempt: number;
  jobId: string;
  /**
   * Aborted when the runner gives up on this run: `stop()` ran past its drain timeout, or the lease
   * was lost (another worker reclaimed the job). Pass it to `fetch` and stop work when it fires.
   */
  signal: AbortSignal;
  /** Already carries the job id, kind and attempt. */
  log: JobLogger;
  /**
   * Where the runner can, has `write` committed together with the run's outcome (completed, retried,
   * snoozed or dead) rather than on its own: the embedded runner on SQLite makes both one commit.
   * `write` runs whether or not the run still holds its lease; the last one given counts. Absent
   * (BullMQ), the handler writes itself.
   */
  withOutcome?(write: (tx: JobTransaction) => Promise<void>): void;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export interface JobDefinition<K extends JobKind> {
  kind: K;
  /** Handlers of this kind running at once in one process. Default 1. */
  concurrency?: number;
  /** Runs (first run included) before the job is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Retry delay after a failed run: full jitter, capped. Default 1 s base, 5 min cap. */
  backoff?: BackoffOptions;
  /**
   * Resolves: done. Throws `RetryLaterError`: retried after its delay. Throws `PermanentJobError`:
   * dead-lettered now. Throws anything else: retried with backoff until `maxAttempts`.
   * Runs at least once; after a crash or a lost lease it can run again, so side effects must be
   * idempotent (pass the job id to the provider where it accepts one).
   */
  handler(payload: JobPayloads[K], ctx: JobContext): Promise<void>;
}

/** A definition with its defaults filled in, as the runners read it. */
export interface ResolvedJobDefinition {
  kind: string;
  concurrency: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  handler(payload: unknown, ctx: JobContext): Promise<void>;
}

export const JOB_DEFAULTS = {
  concurrency: 1,
  maxAttempts: 5,
  backoff: { baseMs: 1_000, maxMs: 5 * 60_000 },
} as const;

export const MAX_IDEMPOTENCY_KEY_LENGTH = 300;

/** Checks a definition once, where it is written, so a typo fails at start-up rather than at run time. */
export function defineJob<K extends JobKind>(definition: JobDefinition<K>): JobDefinition<K> {
  resolve(definition);
  return definition;
}

export interface JobHandlerRegistry {
  register<K extends JobKind>(definition: JobDefinition<K>): this;
  get(kind: string): ResolvedJobDefinition | undefined;
  definitions(): ResolvedJobDefinition[];
}

export function createJobRegistry(definitions: readonly JobDefinition<JobKind>[] = []): JobHandlerRegistry {
  const byKind = new Map<string, ResolvedJobDefinition>();
  const registry: JobHandlerRegistry = {
    register(definition) {
      if (byKind.has(definition.kind)) throw new Error(`Job kind ${definition.kind} is registered twice`);
      byKind.set(definition.kind, resolve(definition));
      return this;
    },
    get: (kind) => byKind.get(kind),
    definitions: () => [...byKind.values()],
  };
  for (const definition of definitions) registry.register(definition);
  return registry;
}

function resolve<K extends JobKind>(definition: JobDefinition<K>): ResolvedJobDefinition {
  const concurrency = definition.concurrency ?? JOB_DEFAULTS.concurrency;
  const maxAttempts = definition.maxAttempts ?? JOB_DEFAULTS.maxAttempts;
  const backoff = definition.backoff ?? JOB_DEFAULTS.backoff;
  const where = `Job kind ${definition.kind}`;
  if (!definition.kind) throw new Error("A job definition needs a kind");
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`${where}: concurrency must be an integer ≥ 1`);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new Error(`${where}: maxAttempts must be an integer ≥ 1`);
  if (!(backoff.baseMs >= 0) || !(backoff.maxMs >= backoff.baseMs))
    throw new Error(`${where}: backoff needs 0 ≤ baseMs ≤ maxMs`);
  const handler = definition.handler.bind(definition) as ResolvedJobDefinition["handler"];
  return { kind: definition.kind, concurrency, maxAttempts, backoff: { ...backoff }, handler };
}

/**
 * Thrown by a handler to be run again after `delayMs` instead of the computed backoff (Microsoft's
 * `Retry-After`). The run still counts as an attempt, so a job throttled `maxAttempts` times is
 * dead-lettered: give kinds that expect throttling a higher `maxAttempts`.
 */
export class RetryLaterError extends Error {
  readonly code = "retry_later";
  constructor(
    readonly delayMs: number,
    message = `retry requested in ${delayMs} ms`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RetryLaterError";
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError("delayMs must be a finite number ≥ 0");
  }
}

/**
 * Thrown by a handler to wait `delayMs` and run again without spending an attempt: the job is not
 * failing, it is waiting (an endpoint's slots are all busy, a paused webhook). Use it instead of a
 * huge `maxAttempts`.
 */
export class SnoozeError extends Error {
  readonly code = "snooze";
  constructor(
    readonly delayMs: number,
    message = `snoozed for ${delayMs} ms`,
  ) {
    super(message);
    this.name = "SnoozeError";
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError("delayMs must be a finite number ≥ 0");
  }
}

/** Thrown by a handler when retrying cannot help (bad payload, deleted account): dead-letter now. */
export class PermanentJobError extends Error {
  readonly code = "permanent";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentJobError";
  }
}

/** Checks enqueue options the same way for every implementation; returns the due time. */
export function resolveRunAt(options: EnqueueOptions, now: number): number {
  const { idempotencyKey, runAt, delayMs, maxAttempts, exclusiveKey } = options;
  if (
    exclusiveKey !== undefined &&
    (exclusiveKey.length === 0 || exclusiveKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  )
    throw new RangeError(`exclusiveKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  if (runAt !== undefined && delayMs !== undefined) throw new TypeError("Give runAt or delayMs, not both");
  if (runAt !== undefined && !Number.isFinite(runAt))
    throw new RangeError("runAt must be epoch milliseconds");
  if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0))
    throw new RangeError("delayMs must be a finite number ≥ 0");
  if (maxAttempts !== undefined && (!Number.isInteger(maxAttempts) || maxAttempts < 1))
    throw new RangeError("maxAttempts must be an integer ≥ 1");
  if (
    idempotencyKey !== undefined &&
    (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  )
    throw new RangeError(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  return runAt ?? now + (delayMs ?? 0);
}

/** Checks a recurring job the same way for every implementation. */
export function checkRecurring(recurring: RecurringJob): void {
  const { name, everyMs, offsetMs = 0, exclusiveKey } = recurring;
  if (name.length === 0 || name.length > 200)
    throw new RangeError("A recurring job's name is 1 to 200 characters");
  if (
    exclusiveKey !== undefined &&
    (exclusiveKey.length === 0 || exclusiveKey.length > MAX_IDEMPOTENCY_KEY_LENGTH)
  )
    throw new RangeError(`exclusiveKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  if (!Number.isInteger(everyMs) || everyMs < 1) throw new RangeError("everyMs must be an integer ≥ 1");
  if (!Number.isInteger(offsetMs) || offsetMs < 0 || offsetMs >= everyMs)
    throw new RangeError("offsetMs must be an integer with 0 ≤ offsetMs < everyMs");
}

/** The slot of a recurring job due at or before `now`, and when the next one falls. */
export function recurringSlot(
  recurring: Pick<RecurringJob, "everyMs" | "offsetMs">,
  now: number,
): { slot: number; runAt: number; nextAt: number } {
  const offset = recurring.offsetMs ?? 0;
  const slot = Math.floor((now - offset) / recurring.everyMs);
  const runAt = slot * recurring.everyMs + offset;
  return { slot, runAt, nextAt: runAt + recurring.everyMs };
}
