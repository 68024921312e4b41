import type { Kysely } from "kysely";
import type { Database, JobScheduleTable } from "../schema.ts";

export type JobScheduleRow = JobScheduleTable;

export type ScheduleDeclaration = Pick<
  JobScheduleRow,
  "name" | "kind" | "payload" | "every_ms" | "offset_ms"
>;

/** The SQL of recurring jobs (job_schedules), SQLite and PostgreSQL. */
export class JobScheduleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Declares a recurring job. A new one is first due at `firstRunAt`. Declaring it again replaces kind
   * and payload; its next slot stays unless the period or offset changed, and then it moves to
   * `replacedRunAt` (the new period's next slot).
   */
  async upsert(
    schedule: ScheduleDeclaration,
    firstRunAt: number,
    replacedRunAt: number,
    now: number,
  ): Promise<void> {
    await this.db
      .insertInto("job_schedules")
      .values({ ...schedule, next_run_at: firstRunAt, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet((eb) => ({
          kind: eb.ref("excluded.kind"),
          payload: eb.ref("excluded.payload"),
          every_ms: eb.ref("excluded.every_ms"),
          offset_ms: eb.ref("excluded.offset_ms"),
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
        })),
      )
      .execute();
  }

  async remove(name: string): Promise<void> {
    await this.db.deleteFrom("job_schedules").where("name", "=", name).execute();
  }

  async findByName(name: string): Promise<JobScheduleRow | undefined> {
    return this.db.selectFrom("job_schedules").selectAll().where("name", "=", name).executeTakeFirst();
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
   */
  async takeSlot(
    seen: JobScheduleRow,
    nextRunAt: number,
    enqueue: (tx: Kysely<Database>) => Promise<{ id: string; created: boolean }>,
  ): Promise<{ id: string; created: boolean } | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const advanced = await tx
        .updateTable("job_schedules")
        .set({ next_run_at: nextRunAt })
        .where("name", "=", seen.name)
        .where("next_run_at", "=", seen.next_run_at)
        .where("every_ms", "=", seen.every_ms)
        .where("offset_ms", "=", seen.offset_ms)
        .where("kind", "=", seen.kind)
        .where("payload", "=", seen.payload)
        .executeTakeFirst();
      if (Number(advanced.numUpdatedRows) === 0) return undefined;
      return enqueue(tx);
    });
  }
}
