import type { Kysely } from "kysely";
import type { Database, JobRelayTable } from "../schema.ts";

export type JobRelayRow = JobRelayTable;

const INSERT_CHUNK = 500;

/** The SQL of the BullMQ runner's relay (outbox) table, on SQLite and PostgreSQL. */
export class JobRelayRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: "sqlite" | "postgres",
  ) {}

  /** Writes the row unless another row holds its idempotency key; true when written. */
  async insert(row: JobRelayRow): Promise<boolean> {
    const inserted = await this.db
      .insertInto("job_relay")
      .values(row)
      .onConflict((oc) => oc.column("idempotency_key").doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  /**
   * Writes the rows, skipping those whose idempotency key another row (earlier in the batch included)
   * holds; resolves with the ids written. A statement per 500 rows (PostgreSQL's parameter limit).
   */
  async insertMany(rows: readonly JobRelayRow[]): Promise<Set<string>> {
    const written = new Set<string>();
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const inserted = await this.db
        .insertInto("job_relay")
        .values(rows.slice(start, start + INSERT_CHUNK))
        .onConflict((oc) => oc.column("idempotency_key").doNothing())
        .returning("id")
        .execute();
      for (const row of inserted) written.add(row.id);
    }
    return written;
  }

  async hasIdempotencyKey(key: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("job_relay")
      .select("id")
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * In one transaction: takes up to `limit` of the oldest rows, hands them to `relay`, and deletes
   * the ids it returns. On PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`, so relays in
   * other processes pass over them; SQLite serialises writers. A row whose relay failed stays for the
   * next pass. Resolves with the number of rows deleted.
   *
   * An empty table is seen with one statement first, not a transaction's three: most passes (the
   * interval's, the follow-ups after a wake-up) find nothing.
   */
  async relayBatch(limit: number, relay: (rows: JobRelayRow[]) => Promise<string[]>): Promise<number> {
    const any = await this.db.selectFrom("job_relay").select("id").limit(1).executeTakeFirst();
    if (any === undefined) return 0;
    return this.db.transaction().execute(async (tx) => {
      let query = tx.selectFrom("job_relay").selectAll().orderBy("created_at").orderBy("id").limit(limit);
      if (this.dialect === "postgres") query = query.forUpdate().skipLocked();
      const rows = await query.execute();
      if (rows.length === 0) return 0;
      const done = await relay(rows);
      if (done.length === 0) return 0;
      const deleted = await tx.deleteFrom("job_relay").where("id", "in", done).executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("job_relay")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
