import type { Kysely } from "kysely";

// Outgoing webhooks: the endpoints operators register, the events Mailroom accepted (the durable
// outbox), and one delivery per (event, webhook) whose attempts the delivery job records.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("webhooks")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("source", "varchar(30)", (c) => c.notNull())
    .addColumn("name", "text")
    .addColumn("request_url", "text", (c) => c.notNull())
    .addColumn("format", "varchar(10)", (c) => c.notNull())
    .addColumn("account_ids", "text")
    .addColumn("enabled", "integer", (c) => c.notNull())
    .addColumn("headers", "text", (c) => c.notNull())
    .addColumn("events", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull())
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("previous_secret", "text")
    .addColumn("previous_secret_expires_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("webhooks_created_idx").on("webhooks").columns(["created_at", "id"]).execute();

  await db.schema
    .createTable("webhook_events")
    .addColumn("id", "varchar(200)", (c) => c.primaryKey())
    .addColumn("type", "varchar(40)", (c) => c.notNull())
    .addColumn("source", "varchar(30)", (c) => c.notNull())
    .addColumn("account_id", "varchar(200)")
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("webhook_deliveries")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("webhook_id", "varchar(22)", (c) => c.notNull())
    .addColumn("event_id", "varchar(200)", (c) => c.notNull())
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("round", "integer", (c) => c.notNull())
    .addColumn("last_status_code", "integer")
    .addColumn("last_error", "text")
    .addColumn("next_attempt_at", "bigint")
    .addColumn("delivered_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_event_unique")
    .on("webhook_deliveries")
    .columns(["event_id", "webhook_id"])
    .unique()
    .execute();
  await db.schema
    .createIndex("webhook_deliveries_webhook_idx")
    .on("webhook_deliveries")
    .columns(["webhook_id", "created_at", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("webhook_deliveries").execute();
  await db.schema.dropTable("webhook_events").execute();
  await db.schema.dropTable("webhooks").execute();
}
