import type { Kysely } from "kysely";

// The delivery log of notify_url callbacks (one per hosted link): attempts, the last answer or the
// reason nothing was sent (a refused address), as webhook deliveries record theirs.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("notify_deliveries")
    .addColumn("link_id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("last_status_code", "integer")
    .addColumn("last_error", "text")
    .addColumn("last_response_excerpt", "text")
    .addColumn("next_attempt_at", "bigint")
    .addColumn("delivered_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("notify_deliveries").execute();
}
