import type { Kysely } from "kysely";
import type { Database, JobScheduleTable } from "../schema.ts";

export type JobScheduleRow = JobScheduleTable;

export type ScheduleDeclaration = Pick<
  JobScheduleRow,
  "name" | "kind" | "payload" | "every_ms" | "offset_ms" | "exclusive_key"
>;

/** The SQL of recurring jobs (job_schedules), SQLite and PostgreSQL. */
export class JobScheduleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Declares a recurring job. A new one is first due at `firstRunAt`. Declaring it again replaces kind
   * and payload; its next slot stays unless the period or offset changed, and then it moves to
   * `replacedRunAt` (the new period's next slot). An unchanged declaration (every process declares its
   * schedules at start-up, the realtime watchdog re-declares every account's poll) writes nothing.
   */
  async upsert(
    schedule: ScheduleDeclaration,
    firstRunAt: number,
    replacedRunAt: number,
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto("job_schedules")
      .values({ ...schedule, next_run_at: firstRunAt, last_job_id: null, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet((eb) => ({
            kind: eb.ref("excluded.kind"),
            payload: eb.ref("excluded.payload"),
            every_ms: eb.ref("excluded.every_ms"),
            offset_ms: eb.ref("excluded.offset_ms"),
            exclusive_key: eb.ref("excluded.exclusive_key"),
            updated_at: eb.ref("excluded.updated_at"),
            next_run_at: eb
              .case()
              .when(
                eb.and([
                  eb("job_schedules.every_ms", "=", eb.ref("excluded.every_ms")),
                  eb("job_schedules.offset_ms", "=", eb.ref("excluded.offset_ms")),
                ]),
              )
              .then(eb.ref("job_schedules.next_run_at"))
              .else(eb.val(replacedRunAt))
              .end(),
          }))
          .where((eb) =>
            eb.or([
              eb("job_schedules.kind", "<>", eb.ref("excluded.kind")),
              eb("job_schedules.payload", "<>", eb.ref("excluded.payload")),
              eb("job_schedules.every_ms", "<>", eb.ref("excluded.every_ms")),
              eb("job_schedules.offset_ms", "<>", eb.ref("excluded.offset_ms")),
              eb(
                eb.fn.coalesce("job_schedules.exclusive_key", eb.val("")),
                "<>",
                eb.fn.coalesce("excluded.exclusive_key", eb.val("")),
              ),
            ]),
          ),
      )
      .execute();
  }

  async remove(name: string): Promise<void> {
    await this.db.deleteFrom("job_schedules").where("name", "=", name).execute();
  }

  async findByName(name: string): Promise<JobScheduleRow | undefined> {
    return this.db.selectFrom("job_schedules").selectAll().where("name", "=", name).executeTakeFirst();
  }

  async list(): Promise<JobScheduleRow[]> {
    return this.db.selectFrom("job_schedules").selectAll().orderBy("name").execute();
  }

  /** Schedules whose next slot has come, earliest first. */
  async due(now: number, limit: number): Promise<JobScheduleRow[]> {
    return this.db
      .selectFrom("job_schedules")
      .selectAll()
      .where("next_run_at", "<=", now)
      .orderBy("next_run_at")
      .orderBy("name")
      .limit(limit)
      .execute();
  }

  /**
   * Takes one slot of a due schedule, as read in `seen`: moves next_run_at to `nextRunAt` by
   * compare-and-set, and in the same transaction enqueues the slot's job (`enqueue`, whose idempotency
   * key names the slot). Of several processes seeing the same slot only one UPDATE matches, so the slot is
   * enqueued once; a schedule changed since it was read matches nothing and is taken at the next poll.
   * While the previous slot's job has not started (it waits for its exclusive key, or the runners are
   * behind), the slot is skipped instead of piling up behind it: "skipped", with that job's id.
   */
  async takeSlot(
    seen: JobScheduleRow,
    nextRunAt: number,
    enqueue: (tx: Kysely<Database>) => Promise<{ id: string; created: boolean }>,
  ): Promise<{ id: string; created: boolean; skipped?: true } | undefined> {
    // Inside a caller's transaction (a batch of slots) the caller's commit covers it.
    const atomically = <T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> =>
      this.db.isTransaction ? fn(this.db) : this.db.transaction().execute(fn);
    return atomically(async (tx) => {
      const advanced = await tx
        .updateTable("job_schedules")
        .set({ next_run_at: nextRunAt })
        .where("name", "=", seen.name)
        .where("next_run_at", "=", seen.next_run_at)
        .where("every_ms", "=", seen.every_ms)
        .where("offset_ms", "=", seen.offset_ms)
        .where("kind", "=", seen.kind)
        .where("payload", "=", seen.payload)
        .where((eb) =>
          seen.exclusive_key === null
            ? eb("exclusive_key", "is", null)
            : eb("exclusive_key", "=", seen.exclusive_key),
        )
        .executeTakeFirst();
      if (Number(advanced.numUpdatedRows) === 0) return undefined;
      if (seen.last_job_id !== null) {
        const previous = await tx
          .selectFrom("jobs")
          .select("status")
          .where("id", "=", seen.last_job_id)
          .executeTakeFirst();
        if (previous?.status === "queued") return { id: seen.last_job_id, created: false, skipped: true };
      }
      const job = await enqueue(tx);
      await tx
        .updateTable("job_schedules")
        .set({ last_job_id: job.id })
        .where("name", "=", seen.name)
        .execute();
      return job;
    });
  }
}
