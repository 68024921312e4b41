import type { ExpressionBuilder, Kysely } from "kysely";
import type { Database, JobTable } from "../schema.ts";

export type JobRow = JobTable;

/**
 * Identifies one run of one job. `attempts` is bumped by every claim, so (id, locked_by, attempts) is a
 * fencing token: a worker whose lease expired and was reclaimed can no longer write the job's outcome.
 */
export interface JobFence {
  id: string;
  workerId: string;
  attempt: number;
}

export interface ClaimRequest {
  kind: string;
  limit: number;
  workerId: string;
  now: number;
  leaseUntil: number;
}

/** All SQL of the job queue (SQLite and PostgreSQL). */
export class JobRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: "sqlite" | "postgres",
  ) {}

  /** Inserts the job unless its idempotency key is taken; then returns the job holding the key. */
  async insert(row: JobRow): Promise<{ id: string; created: boolean }> {
    for (;;) {
      const inserted = await this.db
        .insertInto("jobs")
        .values(row)
        .onConflict((oc) => oc.column("idempotency_key").doNothing())
        .returning("id")
        .executeTakeFirst();
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
   * died) with attempts left, then queued ones whose `run_at` has come, oldest first. Each branch is
   * its own statement so it can walk `jobs_claim_idx (kind, status, run_at, id)` in order and stop at
   * the limit (as one OR it read every due row of every kind and sorted them). Each UPDATE does the
   * choosing and the taking, so two workers never take the same job: SQLite serialises writers, and
   * on PostgreSQL `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass over each other's rows. The
   * outer WHERE repeats the conditions so a row changed after the subquery read it is not taken.
   */
  async claim(request: ClaimRequest): Promise<JobRow[]> {
    if (request.limit <= 0) return [];
    const { now } = request;
    const expired = await this.claimWhere(request, request.limit, "running", (eb) =>
      eb.and([
        eb("status", "=", "running"),
        eb("locked_until", "<", now),
        eb("attempts", "<", eb.ref("max_attempts")),
      ]),
    );
    const left = request.limit - expired.length;
    const queued =
      left > 0
        ? await this.claimWhere(request, left, "queued", (eb) =>
            eb.and([eb("status", "=", "queued"), eb("run_at", "<=", now)]),
          )
        : [];
    return [...expired, ...queued].sort((a, b) => a.run_at - b.run_at || (a.id < b.id ? -1 : 1));
  }

  private async claimWhere(
    { kind, workerId, now, leaseUntil }: ClaimRequest,
    limit: number,
    status: JobRow["status"],
    due: (eb: ExpressionBuilder<Database, "jobs">) => ReturnType<ExpressionBuilder<Database, "jobs">["and"]>,
  ): Promise<JobRow[]> {
    return (
      this.db
        // A CTE, not `id IN (SELECT ... LIMIT n)`: PostgreSQL may evaluate such a subquery once per
        // outer row, and then claims more than `limit` jobs. A locking CTE is evaluated exactly once.
        .with("picked", (db) => {
          const query = db
            .selectFrom("jobs")
            .select("id")
            .where("kind", "=", kind)
            .where("status", "=", status)
            .where(due)
            .orderBy("run_at")
            .orderBy("id")
            .limit(limit);
          return this.dialect === "postgres" ? query.forUpdate().skipLocked() : query;
        })
        .updateTable("jobs")
        .set((eb) => ({
          status: "running",
          attempts: eb("attempts", "+", 1),
          locked_by: workerId,
          locked_until: leaseUntil,
          updated_at: now,
        }))
        .where("id", "in", (eb) => eb.selectFrom("picked").select("picked.id"))
        .where(due)
        .returningAll()
        .execute()
    );
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
    return this.db
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
  }

  /** Pushes the lease of this worker's runs forward; returns the runs it still holds. */
  async extendLeases(
    workerId: string,
    ids: readonly string[],
    now: number,
    leaseUntil: number,
  ): Promise<Pick<JobRow, "id" | "attempts">[]> {
    if (ids.length === 0) return [];
    return this.db
      .updateTable("jobs")
      .set({ locked_until: leaseUntil, updated_at: now })
      .where("id", "in", ids)
      .where("status", "=", "running")
      .where("locked_by", "=", workerId)
      .returning(["id", "attempts"])
      .execute();
  }

  /** Marks the run done; false when the fence no longer holds (the lease was lost). */
  async complete(fence: JobFence, now: number): Promise<boolean> {
    return this.finish(fence, {
      status: "done",
      finished_at: now,
      updated_at: now,
      locked_by: null,
      locked_until: null,
    });
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

  private async finish(fence: JobFence, patch: Partial<Omit<JobRow, "id">>): Promise<boolean> {
    const result = await this.db
      .updateTable("jobs")
      .set(patch)
      .where("id", "=", fence.id)
      .where("status", "=", "running")
      .where("locked_by", "=", fence.workerId)
      .where("attempts", "=", fence.attempt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
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
