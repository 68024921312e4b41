import type { Kysely } from "kysely";

// The relay (outbox) of the BullMQ runner: a job enqueued inside a unit of work cannot be written to
// Redis in the SQL transaction, so it is written here in the transaction and moved to Redis by a relay
// loop after the commit (docs/adr/0007-bullmq-runner.md). Rows live for milliseconds, unless Redis is
// down. The unique idempotency key keeps two transactions from relaying the same key twice.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("job_relay")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("kind", "varchar(200)", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "varchar(300)", (c) => c.unique())
    .addColumn("exclusive_key", "varchar(300)")
    .addColumn("run_at", "bigint", (c) => c.notNull())
    .addColumn("max_attempts", "integer")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("job_relay_created_idx")
    .on("job_relay")
    .columns(["created_at", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("job_relay").execute();
}
