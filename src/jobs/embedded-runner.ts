// The embedded job queue: jobs live in the `jobs` table of the SQL database (SQLite or PostgreSQL) and
// run in this process. A poll loop claims due jobs under a lease that a heartbeat keeps alive; a job
// whose worker died is taken again once its lease expires. See docs/adr/0002-jobs.md.

import { hostname } from "node:os";
import { type Clock, systemClock } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import { isUnavailable } from "../storage/db.ts";
import type { JobRepository, JobRow } from "../storage/repositories/job.repository.ts";
import { ClaimScope } from "./claim-scope.ts";
import {
  defaultTimers,
  type EmbeddedJobRunnerOptions,
  type JobCounters,
  type RunnerTimers,
} from "./embedded-runner-options.ts";
import { type JobOutcome, messageOf, OutcomeCounts } from "./job-outcome.ts";
import { queuedJob } from "./job-row.ts";
import type {
  EnqueueOptions,
  EnqueueResult,
  JobHandlerRegistry,
  JobKind,
  JobLogger,
  JobPayloads,
  JobQueue,
  JobStats,
  RecurringJob,
  ResolvedJobDefinition,
  StopOptions,
} from "./queue.ts";
import { enqueueEach, JOB_DEFAULTS, resolveRunAt } from "./queue.ts";
import { enqueueDueSchedules, scheduleRecurring } from "./recurring.ts";
import { type ActiveRun, type JobOutcomeEvent, type RunJobDeps, runJob } from "./run-job.ts";

export type { EmbeddedJobRunnerOptions } from "./embedded-runner-options.ts";

const TRANSACTION_WAKE_DELAY_MS = 20;

export class EmbeddedJobRunner implements JobQueue {
  readonly workerId: string;
  private readonly repository: JobRepository;
  private readonly registry: JobHandlerRegistry;
  private readonly log: JobLogger;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly leaseMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private readonly random: () => number;
  private readonly timers: RunnerTimers;
  private readonly onOutcome: ((event: JobOutcomeEvent) => void) | undefined;

  private state: "idle" | "started" | "stopping" | "stopped" = "idle";
  private pollTimer: unknown;
  private heartbeatTimer: unknown;
  private pollChain: Promise<unknown> = Promise.resolve();
  /** What each claim cycle looks at (claim-scope.ts). */
  private readonly scope: ClaimScope;
  private readonly active = new Map<string, ActiveRun>();
  private readonly activeByKind = new Map<string, number>();
  private readonly outcomeCounts = new OutcomeCounts();
  private readonly runDeps: RunJobDeps;

  constructor(options: EmbeddedJobRunnerOptions) {
    this.repository = options.repository;
    this.registry = options.registry;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.scope = new ClaimScope(this.pollIntervalMs);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? defaultTimers;
    this.onOutcome = options.onOutcome;
    this.workerId = (options.workerId ?? `${hostname()}:${process.pid}:${newId().slice(0, 8)}`).slice(0, 100);
    this.runDeps = {
      repository: this.repository,
      clock: this.clock,
      log: this.log,
      workerId: this.workerId,
      random: this.random,
      count: (kind, outcome, event) => this.count(kind, outcome, event),
    };
    if (this.heartbeatIntervalMs >= this.leaseMs)
      throw new RangeError("heartbeatIntervalMs must be shorter than leaseMs, or leases lapse between beats");
  }

  async enqueue<K extends JobKind>(
    kind: K,
    payload: JobPayloads[K],
    options: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    const now = this.clock.now();
    const runAt = resolveRunAt(options, now);
    const definition = this.registry.get(kind);
    const { transaction } = options;
    if (options.exclusiveKey !== undefined) this.scope.keyedKind(kind);
    const repository = transaction ? this.repository.inTransaction(transaction) : this.repository;
    const result = await repository.insert(
      queuedJob(
        {
          id: newId(),
          kind,
          payload: JSON.stringify(payload ?? null),
          idempotency_key: options.idempotencyKey ?? null,
          exclusive_key: options.exclusiveKey ?? null,
          run_at: runAt,
          max_attempts: options.maxAttempts ?? definition?.maxAttempts ?? JOB_DEFAULTS.maxAttempts,
        },
        now,
      ),
    );
    this.log.debug({ jobId: result.id, kind, created: result.created, runAt }, "job enqueued");
    if (result.created && definition && runAt <= now) {
      // A job written in a transaction is invisible to the claim until the caller commits, which this
      // runner cannot observe: look again shortly after, and the poll interval catches a slow commit.
      if (transaction) this.timers.setTimeout(() => this.wake([kind]), TRANSACTION_WAKE_DELAY_MS);
      else this.wake([kind]);
    }
    return result;
  }

  /** One statement per job: on SQLite a statement costs microseconds, and a batch is one commit already. */
  readonly enqueueMany: JobQueue["enqueueMany"] = (jobs, options) => enqueueEach(this, jobs, options);

  async schedule<K extends JobKind>(recurring: RecurringJob<K>): Promise<void> {
    await scheduleRecurring(this.repository.schedules, recurring as RecurringJob, this.clock.now());
    if (recurring.exclusiveKey !== undefined) this.scope.keyedKind(recurring.kind);
    this.log.debug(
      { name: recurring.name, kind: recurring.kind, everyMs: recurring.everyMs },
      "recurring job declared",
    );
    this.wake();
  }

  async unschedule(name: string): Promise<void> {
    await this.repository.schedules.remove(name);
    this.log.debug({ name }, "recurring job removed");
  }

  async start(): Promise<void> {
    if (this.state === "started") return;
    if (this.state !== "idle")
      throw new Error("A stopped job runner cannot be started again; create a new one");
    this.state = "started";
    this.log.info(
      { workerId: this.workerId, kinds: this.registry.definitions().map((d) => d.kind) },
      "job runner started",
    );
    this.schedulePoll(0);
    this.scheduleHeartbeat();
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    if (this.state === "stopping") return;
    this.state = "stopping";
    this.clearTimer(this.pollTimer);
    this.pollTimer = undefined;
    // A claim in flight finishes first, so every job it took is in `active` and gets drained too.
    await this.pollChain;
    const drainTimeoutMs = options.drainTimeoutMs ?? this.drainTimeoutMs;
    const drained = await this.waitForActive(drainTimeoutMs);
    if (!drained) {
      const unfinished = [...this.active.values()].map((run) => ({ jobId: run.row.id, kind: run.row.kind }));
      this.log.warn(
        { workerId: this.workerId, drainTimeoutMs, unfinished },
        "job runner stopped with jobs still running; their leases will expire and another worker will take them",
      );
      for (const run of this.active.values())
        run.controller.abort(new Error(`the job runner stopped (drain timeout ${drainTimeoutMs} ms)`));
    }
    this.clearTimer(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.state = "stopped";
    this.log.info({ workerId: this.workerId }, "job runner stopped");
  }

  async stats(): Promise<JobStats> {
    return this.repository.countByStatus();
  }

  /** Finished runs by kind and outcome, since this runner was created. */
  counters(): JobCounters {
    return this.outcomeCounts.snapshot();
  }

  /** Jobs this runner is running now, by kind. */
  running(): Record<string, number> {
    return Object.fromEntries(this.activeByKind);
  }

  /**
   * One claim cycle, serialised with the poll loop: buries jobs whose lease expired with no attempts
   * left, then claims due jobs for every kind with a free slot and starts them. Resolves with the
   * number of jobs started. The loop calls it; tests call it to know a cycle ran after some change.
   */
  poll(): Promise<number> {
    this.scope.wake();
    return this.cycle();
  }

  private cycle(): Promise<number> {
    const cycle = this.pollChain.then(() => this.claimDue());
    this.pollChain = cycle.catch(() => undefined);
    return cycle;
  }

  /**
   * Runs a claim cycle now instead of at the next poll interval: for these kinds' queued jobs only, or
   * a whole cycle without `kinds`.
   */
  wake(kinds?: Iterable<string>): void {
    if (this.state !== "started") return;
    this.scope.wake(kinds);
    this.schedulePoll(0);
  }

  /** A cycle after `delayMs`: a wake-up's (delay 0), or the interval's, which is always whole. */
  private schedulePoll(delayMs: number): void {
    this.clearTimer(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = undefined;
      if (delayMs > 0) this.scope.wake();
      void this.tick();
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      await this.cycle();
    } catch (error) {
      this.log[isUnavailable(error) ? "warn" : "error"](
        { workerId: this.workerId, error: messageOf(error) },
        "job poll failed; retrying at the next interval",
      );
    }
    if (this.state === "started" && this.pollTimer === undefined) this.schedulePoll(this.pollIntervalMs);
  }

  private async claimDue(): Promise<number> {
    if (this.state !== "started") return 0;
    const now = this.clock.now();
    const scope = this.scope.take(now);
    const { whole } = scope;
    const definitions = scope.whole
      ? this.registry.definitions()
      : this.registry.definitions().filter((d) => scope.kinds.has(d.kind));
    const freeSlots = (d: ResolvedJobDefinition) => d.concurrency - (this.activeByKind.get(d.kind) ?? 0);
    // Due schedules and lapsed leases with no attempts left are looked for on whole cycles only, not on
    // every wake-up (a lease lapses tens of seconds after its worker stopped, so burying it up to one
    // interval later changes nothing). A whole cycle reads which kinds have due work in one statement
    // and claims only those; a wake-up's one or two kinds are claimed directly.
    let due: Set<string> | undefined;
    if (whole) {
      await enqueueDueSchedules(
        { repository: this.repository, registry: this.registry, log: this.log, newId },
        now,
      );
      await this.buryExpired(definitions, now);
      due = await this.repository.kindsDue(
        definitions.filter((d) => freeSlots(d) > 0).map((d) => d.kind),
        now,
      );
    }
    let started = 0;
    for (const definition of definitions) {
      if (this.state !== "started") break;
      if (due && !due.has(definition.kind)) continue;
      const free = freeSlots(definition);
      if (free <= 0) continue;
      const claimNow = this.clock.now();
      const rows = await this.repository.claim({
        kind: definition.kind,
        limit: free,
        workerId: this.workerId,
        now: claimNow,
        leaseUntil: claimNow + this.leaseMs,
        expired: whole,
      });
      for (const row of rows) this.launch(row, definition);
      started += rows.length;
    }
    return started;
  }

  private async buryExpired(definitions: readonly ResolvedJobDefinition[], now: number): Promise<void> {
    const buried = await this.repository.buryExpired(
      definitions.map((d) => d.kind),
      now,
    );
    for (const job of buried) {
      this.log.error(
        { jobId: job.id, kind: job.kind, attempt: job.attempts },
        "job dead-lettered: its worker stopped reporting and no attempts are left",
      );
      this.count(job.kind, "dead", { jobId: job.id, attempt: job.attempts, durationMs: 0 });
    }
  }

  private launch(row: JobRow, definition: ResolvedJobDefinition): void {
    const controller = new AbortController();
    const run: ActiveRun = { row, definition, controller, done: Promise.resolve() };
    this.active.set(row.id, run);
    this.activeByKind.set(row.kind, (this.activeByKind.get(row.kind) ?? 0) + 1);
    run.done = runJob(this.runDeps, run)
      .catch((error: unknown) => {
        // Only the database writes after the handler can get here: the lease will expire and the job
        // will be run again, which is why handlers are idempotent.
        this.log.error(
          { jobId: row.id, kind: row.kind, attempt: row.attempts, error: messageOf(error) },
          "could not record the job's outcome",
        );
      })
      .finally(() => {
        this.active.delete(row.id);
        const left = (this.activeByKind.get(row.kind) ?? 1) - 1;
        if (left > 0) this.activeByKind.set(row.kind, left);
        else this.activeByKind.delete(row.kind);
        if (this.state === "started") {
          this.scope.finished(row);
          this.schedulePoll(0);
        }
      });
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.timers.setTimeout(() => {
      void this.heartbeat().finally(() => {
        if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();
      });
    }, this.heartbeatIntervalMs);
  }

  /** Extends the leases of every running job in one statement; aborts runs whose lease was lost. */
  private async heartbeat(): Promise<void> {
    const runs = [...this.active.values()];
    if (runs.length === 0) return;
    const now = this.clock.now();
    let held: Pick<JobRow, "id" | "claims">[];
    try {
      held = await this.repository.extendLeases(
        this.workerId,
        runs.map((run) => run.row.id),
        now,
        now + this.leaseMs,
      );
    } catch (error) {
      this.log.warn({ workerId: this.workerId, error: messageOf(error) }, "job lease heartbeat failed");
      return;
    }
    const heldClaims = new Map(held.map((job) => [job.id, job.claims]));
    for (const run of runs) {
      // A run that finished while the heartbeat was in flight is no longer active and is fine.
      if (!this.active.has(run.row.id) || heldClaims.get(run.row.id) === run.row.claims) continue;
      this.log.warn(
        { jobId: run.row.id, kind: run.row.kind, attempt: run.row.attempts },
        "job lease lost; aborting this run",
      );
      run.controller.abort(new Error("the job's lease was lost to another worker"));
    }
  }

  private async waitForActive(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return true;
    let timer: unknown;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.timers.setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = (async () => {
      while (this.active.size > 0) await Promise.all([...this.active.values()].map((run) => run.done));
      return true as const;
    })();
    const result = await Promise.race([drained, timedOut]);
    this.clearTimer(timer);
    return result;
  }

  private count(kind: string, outcome: JobOutcome, event: Omit<JobOutcomeEvent, "kind" | "outcome">): void {
    this.outcomeCounts.add(kind, outcome);
    try {
      this.onOutcome?.({ kind, outcome, ...event });
    } catch (error) {
      this.log.warn({ kind, outcome, error: messageOf(error) }, "job outcome callback threw");
    }
  }

  private clearTimer(handle: unknown): void {
    if (handle !== undefined) this.timers.clearTimeout(handle);
  }
}
