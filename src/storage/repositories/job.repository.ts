import type { ExpressionBuilder, Kysely, UpdateObject } from "kysely";
import type { Database, JobTable } from "../schema.ts";
import {
  claimWhere,
  completeRun,
  insertJob,
  isDue,
  JOB_COLUMNS,
  leaseExpired,
  pickDue,
  pickExpired,
  releaseKeys,
  takeKey,
  takePicked,
} from "./job.queries.ts";
import { JobScheduleRepository, type JobScheduleRow } from "./job-schedule.repository.ts";

export type JobRow = JobTable;

/**
 * Identifies one run of one job. `claims` is bumped by every claim and never lowered, so (id,
 * locked_by, claims) is a fencing token: a worker whose lease expired and was reclaimed can no longer
 * write the job's outcome. (`attempts` cannot be the token: a snooze gives its attempt back.)
 */
export interface JobFence {
  id: string;
  workerId: string;
  claim: number;
  /** False when the job has no exclusive key: there is no lock to release. Default true. */
  keyed?: boolean;
}

export interface ClaimRequest {
  kind: string;
  limit: number;
  workerId: string;
  now: number;
  leaseUntil: number;
  /**
   * Also take running jobs whose lease expired (default). A claim on a wake-up (a job just finished or
   * was enqueued here) skips them: the interval's claim cycle retakes them.
   */
  expired?: boolean;
}

/** All SQL of the job queue (SQLite and PostgreSQL). */
export class JobRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: "sqlite" | "postgres",
  ) {
    this.schedules = new JobScheduleRepository(db);
  }

  /** Recurring jobs (job_schedules). */
  readonly schedules: JobScheduleRepository;

  /**
   * Takes one slot of a due recurring job and enqueues its job in the same transaction (see
   * `JobScheduleRepository.takeSlot`); undefined when another process took the slot first.
   */
  async takeScheduleSlot(
    seen: JobScheduleRow,
    nextRunAt: number,
    job: JobRow,
  ): Promise<{ id: string; created: boolean; skipped?: true } | undefined> {
    return this.schedules.takeSlot(seen, nextRunAt, (tx) => this.inTransaction(tx).insert(job));
  }

  /** The same queries inside a unit of work (`storage.transaction(fn)` hands `tx` to `fn`). */
  inTransaction(tx: Kysely<Database>): JobRepository {
    return new JobRepository(tx, this.dialect);
  }

  /**
   * Runs `fn`'s writes as one SQLite transaction: each SQLite commit appends to the WAL, and a busy
   * runner's few writes per job cost more in commits than in statements. On PostgreSQL `fn` runs as
   * is (a transaction there would add round trips, and each statement is atomic on its own); so `fn`
   * must be correct either way.
   */
  batch<T>(fn: (repository: JobRepository, db: Kysely<Database>) => Promise<T>): Promise<T> {
    if (this.dialect !== "sqlite" || this.db.isTransaction) return fn(this, this.db);
    return this.db.transaction().execute((tx) => fn(this.inTransaction(tx), tx));
  }

  /** Inserts the job unless its idempotency key is taken; then returns the job holding the key. */
  async insert(row: JobRow): Promise<{ id: string; created: boolean }> {
    for (;;) {
      const inserted = await insertJob.first(this.db, ...JOB_COLUMNS.map((column) => row[column]));
      if (inserted) return { id: inserted.id, created: true };
      if (row.idempotency_key === null) throw new Error("Job insert affected no row");
      const existing = await this.findByIdempotencyKey(row.idempotency_key);
      // Only a purge between the two statements gets here; the key is free again, so insert.
      if (existing) return { id: existing.id, created: false };
    }
  }

  async findById(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom("jobs").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findByIdempotencyKey(key: string): Promise<JobRow | undefined> {
    return this.db.selectFrom("jobs").selectAll().where("idempotency_key", "=", key).executeTakeFirst();
  }

  /**
   * Atomically takes up to `limit` due jobs of one kind: running ones whose lease expired (their worker
   * died) with attempts left, then queued ones whose `run_at` has come, oldest first. Each branch
   * walks `jobs_claim_idx (kind, status, run_at, id)` in order and stops at the limit (as one OR it
   * read every due row of every kind and sorted them). The UPDATE that takes the rows repeats the
   * conditions, so a row changed after it was chosen is not taken and two workers never take the same
   * job. On PostgreSQL the choosing is a `FOR UPDATE SKIP LOCKED` CTE of the UPDATE, so concurrent
   * claimers pass over each other's rows. SQLite has one writer at a time: the rows are chosen by a
   * plain index read first (~20 µs when nothing is due, the common case, where the UPDATE with a CTE
   * cost 0.5–1.5 ms even then), and taken, with their keys, in one transaction.
   *
   * A job with an exclusive key is passed over while another job's live lock holds the key. A taken
   * job with a key then takes the lock (`lockKey`); when that fails (two such jobs in one batch, or
   * another claimer took the key in between) the job goes back to the queue with its attempt returned.
   */
  async claim(request: ClaimRequest): Promise<JobRow[]> {
    if (request.limit <= 0) return [];
    const { now, kind } = request;
    const expiredLease = (eb: ExpressionBuilder<Database, "jobs">) => leaseExpired(eb, now);
    const due = (eb: ExpressionBuilder<Database, "jobs">) => isDue(eb, now);
    if (this.dialect === "sqlite") {
      const ids = async (query: typeof pickExpired, limit: number) =>
        (await query.rows(this.db, kind, now, limit)).map((row) => row.id);
      const expired = request.expired === false ? [] : await ids(pickExpired, request.limit);
      const left = request.limit - expired.length;
      const queued = left > 0 ? await ids(pickDue, left) : [];
      if (expired.length + queued.length === 0) return [];
      return this.batch(async (repository) =>
        repository.lockTaken(request, [
          ...(await takePicked(repository.db, request, expired, expiredLease)),
          ...(await takePicked(repository.db, request, queued, due)),
        ]),
      );
    }
    const expired =
      request.expired === false
        ? []
        : await claimWhere(this.db, request, request.limit, "running", expiredLease);
    const left = request.limit - expired.length;
    const queued = left > 0 ? await claimWhere(this.db, request, left, "queued", due) : [];
    return this.lockTaken(request, [...expired, ...queued]);
  }

  /** Takes the exclusive keys of jobs just claimed; a job whose key is held goes back to the queue. */
  private async lockTaken(request: ClaimRequest, rows: JobRow[]): Promise<JobRow[]> {
    const taken: JobRow[] = [];
    for (const row of rows) {
      if (row.exclusive_key === null || (await this.lockKey(row, request.leaseUntil, request.now)))
        taken.push(row);
      else await this.unclaim({ id: row.id, workerId: request.workerId, claim: row.claims }, request.now);
    }
    return taken.sort((a, b) => a.run_at - b.run_at || (a.id < b.id ? -1 : 1));
  }

  /**
   * Takes the job's exclusive key until `lockedUntil`, unless a live lock of another job holds it. The
   * key is the primary key, so of two claimers only one insert or takeover succeeds.
   */
  private async lockKey(row: JobRow, lockedUntil: number, now: number): Promise<boolean> {
    if (row.exclusive_key === null) return true;
    return (await takeKey.first(this.db, row.exclusive_key, row.id, lockedUntil, now)) !== undefined;
  }

  /** Hands back a job just claimed whose key was taken: queued again, the attempt not spent. */
  private async unclaim(fence: JobFence, now: number): Promise<void> {
    await this.finish(fence, (eb) => ({
      status: "queued",
      attempts: eb("attempts", "-", 1),
      updated_at: now,
      locked_by: null,
      locked_until: null,
    }));
  }

  /**
   * Dead-letters running jobs of these kinds whose lease expired with no attempts left: their last
   * run never reported back (the worker crashed or stalled every time), so running them again would
   * exceed `max_attempts`.
   */
  async buryExpired(
    kinds: readonly string[],
    now: number,
  ): Promise<Pick<JobRow, "id" | "kind" | "attempts">[]> {
    if (kinds.length === 0) return [];
    const buried = await this.db
      .updateTable("jobs")
      .set((eb) => ({
        status: "dead",
        last_error: eb.fn.coalesce(
          "last_error",
          eb.val("The worker running the job stopped reporting (crash or stall) and no attempts are left"),
        ),
        locked_by: null,
        locked_until: null,
        finished_at: now,
        updated_at: now,
      }))
      .where("kind", "in", kinds)
      .where("status", "=", "running")
      .where("locked_until", "<", now)
      .where((eb) => eb("attempts", ">=", eb.ref("max_attempts")))
      .returning(["id", "kind", "attempts"])
      .execute();
    if (buried.length > 0)
      await this.db
        .deleteFrom("job_locks")
        .where(
          "job_id",
          "in",
          buried.map((job) => job.id),
        )
        .execute();
    return buried;
  }

  /**
   * Which of these kinds have a job a claim could take now (queued and due, or running with a lapsed
   * lease and attempts left): one read, so a claim cycle runs the claims only for kinds with work.
   */
  async kindsDue(kinds: readonly string[], now: number): Promise<Set<string>> {
    if (kinds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("jobs")
      .select("kind")
      .distinct()
      .where("kind", "in", kinds)
      .where((eb) =>
        eb.or([
          eb.and([eb("status", "=", "queued"), eb("run_at", "<=", now)]),
          eb.and([
            eb("status", "=", "running"),
            eb("locked_until", "<", now),
            eb("attempts", "<", eb.ref("max_attempts")),
          ]),
        ]),
      )
      .execute();
    return new Set(rows.map((row) => row.kind));
  }

  /** Pushes the lease (and key lock) of this worker's runs forward; returns the runs it still holds. */
  async extendLeases(
    workerId: string,
    ids: readonly string[],
    now: number,
    leaseUntil: number,
  ): Promise<Pick<JobRow, "id" | "claims">[]> {
    if (ids.length === 0) return [];
    const held = await this.db
      .updateTable("jobs")
      .set({ locked_until: leaseUntil, updated_at: now })
      .where("id", "in", ids)
      .where("status", "=", "running")
      .where("locked_by", "=", workerId)
      .returning(["id", "claims"])
      .execute();
    if (held.length > 0)
      await this.db
        .updateTable("job_locks")
        .set({ locked_until: leaseUntil })
        .where(
          "job_id",
          "in",
          held.map((job) => job.id),
        )
        .execute();
    return held;
  }

  /** Marks the run done; false when the fence no longer holds (the lease was lost). */
  async complete(fence: JobFence, now: number): Promise<boolean> {
    return this.finishWith(fence, (db) =>
      completeRun.affected(db, fence.id, fence.workerId, fence.claim, now),
    );
  }

  /** Queues the job again for `runAt` after a failed run. */
  async reschedule(fence: JobFence, runAt: number, lastError: string, now: number): Promise<boolean> {
    return this.finish(fence, {
      status: "queued",
      run_at: runAt,
      last_error: lastError,
      updated_at: now,
      locked_by: null,
      locked_until: null,
    });
  }

  /** Queues the job again for `runAt` and gives back the attempt this run spent. */
  async snooze(fence: JobFence, runAt: number, now: number): Promise<boolean> {
    return this.finish(fence, (eb) => ({
      status: "queued",
      run_at: runAt,
      attempts: eb("attempts", "-", 1),
      updated_at: now,
      locked_by: null,
      locked_until: null,
    }));
  }

  /** Dead-letters the job, keeping the error that killed it. */
  async bury(fence: JobFence, lastError: string, now: number): Promise<boolean> {
    return this.finish(fence, {
      status: "dead",
      last_error: lastError,
      finished_at: now,
      updated_at: now,
      locked_by: null,
      locked_until: null,
    });
  }

  async countByStatus(): Promise<Record<JobRow["status"], number>> {
    const rows = await this.db
      .selectFrom("jobs")
      .select((eb) => ["status", eb.fn.countAll().as("count")])
      .groupBy("status")
      .execute();
    const counts = { queued: 0, running: 0, done: 0, dead: 0 };
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /**
   * Writes a run's outcome under its fence, then releases the job's key: the fence held, so a lock
   * naming this job is this run's.
   */
  private async finish(
    fence: JobFence,
    patch:
      | UpdateObject<Database, "jobs">
      | ((eb: ExpressionBuilder<Database, "jobs">) => UpdateObject<Database, "jobs">),
  ): Promise<boolean> {
    return this.finishWith(fence, async (db) => {
      const result = await db
        .updateTable("jobs")
        .set(patch)
        .where("id", "=", fence.id)
        .where("status", "=", "running")
        .where("locked_by", "=", fence.workerId)
        .where("claims", "=", fence.claim)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /** `update` writes the outcome under the fence and says how many rows it changed (0 or 1). */
  private async finishWith(
    fence: JobFence,
    update: (db: Kysely<Database>) => Promise<number>,
  ): Promise<boolean> {
    const write = async (db: Kysely<Database>) => {
      if ((await update(db)) === 0) return false;
      if (fence.keyed !== false) await releaseKeys.affected(db, fence.id);
      return true;
    };
    // One SQLite commit for both writes (see `batch`).
    return fence.keyed === false ? write(this.db) : this.batch((repository) => write(repository.db));
  }

  /**
   * Deletes up to `limit` finished jobs: `done` ones finished before `doneBefore`, dead ones before
   * `deadBefore`; returns how many. One short statement per call (the housekeeping job loops), each
   * walking `jobs_finished_idx (status, finished_at)`. A purged job's idempotency key is free again.
   */
  async purgeFinished(request: { doneBefore: number; deadBefore: number; limit: number }): Promise<number> {
    let deleted = 0;
    for (const [status, before] of [
      ["done", request.doneBefore],
      ["dead", request.deadBefore],
    ] as const) {
      const left = request.limit - deleted;
      if (left <= 0) break;
      const result = await this.db
        .deleteFrom("jobs")
        .where(
          "id",
          "in",
          this.db
            .selectFrom("jobs")
            .select("id")
            .where("status", "=", status)
            .where("finished_at", "<", before)
            .limit(left),
        )
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows ?? 0);
    }
    return deleted;
  }
}
