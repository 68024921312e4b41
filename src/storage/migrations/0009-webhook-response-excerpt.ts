import type { Kysely } from "kysely";

// What the receiver answered, bounded: the first bytes of the last attempt's response body, so the
// dashboard's delivery log can show why an endpoint refused a delivery. And an index for an account's
// events (the dashboard's account page lists them).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("webhook_deliveries").addColumn("last_response_excerpt", "text").execute();
  await db.schema
    .createIndex("webhook_events_account_idx")
    .on("webhook_events")
    .columns(["account_id", "created_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("webhook_events_account_idx").execute();
  await db.schema.alterTable("webhook_deliveries").dropColumn("last_response_excerpt").execute();
}
