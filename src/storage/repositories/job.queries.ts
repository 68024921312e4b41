// The job queue's statements that run for every job (a claim's pick and take, the key lock and its
// release, the insert and the completion), compiled once (src/storage/prepared.ts), and the conditions
// a claim repeats. JobRepository (job.repository.ts) runs them.
import type { ExpressionBuilder, Kysely } from "kysely";
import { PreparedQuery, rowOf } from "../prepared.ts";
import type { Database } from "../schema.ts";
import type { ClaimRequest, JobRow } from "./job.repository.ts";

export type DueCondition = ReturnType<ExpressionBuilder<Database, "jobs">["and"]>;

/** Running, its lease expired, attempts left, its key free: its worker died; it runs again. */
export function leaseExpired(eb: ExpressionBuilder<Database, "jobs">, now: number) {
  return eb.and([
    eb("status", "=", "running"),
    eb("locked_until", "<", now),
    eb("attempts", "<", eb.ref("max_attempts")),
    keyIsFree(eb, now),
  ]);
}

/** Queued, its time come, its key free. */
export function isDue(eb: ExpressionBuilder<Database, "jobs">, now: number) {
  return eb.and([eb("status", "=", "queued"), eb("run_at", "<=", now), keyIsFree(eb, now)]);
}

// The statements a busy runner repeats for every job (src/storage/prepared.ts).
const pick = (status: "running" | "queued", condition: typeof isDue) =>
  new PreparedQuery(3, (db, kind: string, now: number, limit: number) =>
    db
      .selectFrom("jobs")
      .select("id")
      .where("kind", "=", kind)
      .where("status", "=", status)
      .where((eb) => condition(eb, now))
      .orderBy("run_at")
      .orderBy("id")
      .limit(limit),
  );
export const pickExpired = pick("running", leaseExpired);
export const pickDue = pick("queued", isDue);
export const takeKey = new PreparedQuery(
  4,
  (db, key: string, jobId: string, lockedUntil: number, now: number) =>
    db
      .insertInto("job_locks")
      .values({ key, job_id: jobId, locked_until: lockedUntil })
      .onConflict((oc) =>
        oc
          .column("key")
          .doUpdateSet((eb) => ({
            job_id: eb.ref("excluded.job_id"),
            locked_until: eb.ref("excluded.locked_until"),
          }))
          .where((eb) => eb.or([eb("job_locks.locked_until", "<", now), eb("job_locks.job_id", "=", jobId)])),
      )
      .returning("key"),
);
export const completeRun = new PreparedQuery(
  4,
  (db, id: string, workerId: string, claim: number, now: number) =>
    db
      .updateTable("jobs")
      .set({ status: "done", finished_at: now, updated_at: now, locked_by: null, locked_until: null })
      .where("id", "=", id)
      .where("status", "=", "running")
      .where("locked_by", "=", workerId)
      .where("claims", "=", claim),
);
export const JOB_COLUMNS = [
  "id",
  "kind",
  "payload",
  "idempotency_key",
  "exclusive_key",
  "claims",
  "status",
  "run_at",
  "attempts",
  "max_attempts",
  "locked_by",
  "locked_until",
  "last_error",
  "created_at",
  "updated_at",
  "finished_at",
] as const satisfies readonly (keyof JobRow)[];
export const insertJob = new PreparedQuery(JOB_COLUMNS.length, (db, ...values: unknown[]) =>
  db
    .insertInto("jobs")
    .values(rowOf<JobRow>(JOB_COLUMNS, values))
    .onConflict((oc) => oc.column("idempotency_key").doNothing())
    .returning("id"),
);
export const releaseKeys = new PreparedQuery(1, (db, jobId: string) =>
  db.deleteFrom("job_locks").where("job_id", "=", jobId),
);

/** The columns a claim sets. */
export function claimed(
  eb: ExpressionBuilder<Database, "jobs">,
  { workerId, now, leaseUntil }: ClaimRequest,
) {
  return {
    status: "running" as const,
    attempts: eb("attempts", "+", 1),
    claims: eb("claims", "+", 1),
    locked_by: workerId,
    locked_until: leaseUntil,
    updated_at: now,
  };
}

/** The job has no exclusive key, or no other job's live lock holds it. */
function keyIsFree(eb: ExpressionBuilder<Database, "jobs">, now: number): DueCondition {
  return eb.or([
    eb("jobs.exclusive_key", "is", null),
    eb.not(
      eb.exists(
        eb
          .selectFrom("job_locks")
          .select("job_locks.key")
          .whereRef("job_locks.key", "=", "jobs.exclusive_key")
          .whereRef("job_locks.job_id", "<>", "jobs.id")
          .where("job_locks.locked_until", ">=", now),
      ),
    ),
  ]);
}

/** SQLite: takes the picked jobs that still meet `condition`. */
export async function takePicked(
  db: Kysely<Database>,
  request: ClaimRequest,
  ids: string[],
  condition: (eb: ExpressionBuilder<Database, "jobs">) => DueCondition,
): Promise<JobRow[]> {
  if (ids.length === 0) return [];
  return db
    .updateTable("jobs")
    .set((eb) => claimed(eb, request))
    .where("id", "in", ids)
    .where(condition)
    .returningAll()
    .execute();
}

/** PostgreSQL: chooses and takes in one statement. */
export async function claimWhere(
  db: Kysely<Database>,
  request: ClaimRequest,
  limit: number,
  status: JobRow["status"],
  condition: (eb: ExpressionBuilder<Database, "jobs">) => DueCondition,
): Promise<JobRow[]> {
  return (
    db
      // A CTE, not `id IN (SELECT ... LIMIT n)`: PostgreSQL may evaluate such a subquery once per
      // outer row, and then claims more than `limit` jobs. A locking CTE is evaluated exactly once.
      .with("picked", (cte) =>
        cte
          .selectFrom("jobs")
          .select("id")
          .where("kind", "=", request.kind)
          .where("status", "=", status)
          .where(condition)
          .orderBy("run_at")
          .orderBy("id")
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .updateTable("jobs")
      .set((eb) => claimed(eb, request))
      .where("id", "in", (eb) => eb.selectFrom("picked").select("picked.id"))
      .where(condition)
      .returningAll()
      .execute()
  );
}
