import type { Kysely } from "kysely";

// Account events (connected, reconnected, needs sign-in, deleted) as durable rows, written in the same
// transaction as the account change they announce; a job fans each out to notify_url, webhooks and
// realtime. No foreign key: a DELETED event outlives its account.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("account_events")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("account_id", "varchar(22)", (c) => c.notNull())
    .addColumn("type", "varchar(40)", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("account_events_account_idx")
    .on("account_events")
    .columns(["account_id", "created_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("account_events").execute();
}
