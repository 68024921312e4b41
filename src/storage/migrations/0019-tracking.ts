import type { Kysely } from "kysely";

// Email tracking (docs/adr/0009-email-tracking.md): one row per tracked send (what its events name,
// and the counts the dashboard shows), and the opens and clicks recorded for it. Both are removed by
// the housekeeping job after TRACKING_RETENTION_DAYS, by the indexed time columns below.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("tracked_emails")
    .addColumn("tracking_id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("email_id", "text", (c) => c.notNull())
    .addColumn("subject", "text")
    .addColumn("recipient", "text")
    .addColumn("label", "text")
    .addColumn("custom_domain", "varchar(253)")
    .addColumn("opens", "integer", (c) => c.notNull())
    .addColumn("links", "integer", (c) => c.notNull())
    .addColumn("sent_at", "bigint", (c) => c.notNull())
    .addColumn("open_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("click_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("prefetch_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("first_open_at", "bigint")
    .addColumn("last_event_at", "bigint")
    .addColumn("last_click_at", "bigint")
    .execute();
  await db.schema
    .createIndex("tracked_emails_account_idx")
    .on("tracked_emails")
    .columns(["account_id", "sent_at"])
    .execute();
  await db.schema.createIndex("tracked_emails_sent_idx").on("tracked_emails").column("sent_at").execute();
  await db.schema
    .createTable("tracking_events")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("tracking_id", "varchar(64)", (c) => c.notNull())
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("type", "varchar(30)", (c) => c.notNull())
    .addColumn("url", "text")
    .addColumn("ip", "varchar(64)")
    .addColumn("user_agent", "text")
    .addColumn("is_prefetch", "integer", (c) => c.notNull())
    .addColumn("prefetch_reason", "varchar(40)")
    .addColumn("occurred_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("tracking_events_email_idx")
    .on("tracking_events")
    .columns(["tracking_id", "occurred_at"])
    .execute();
  await db.schema
    .createIndex("tracking_events_occurred_idx")
    .on("tracking_events")
    .column("occurred_at")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("tracking_events").execute();
  await db.schema.dropTable("tracked_emails").execute();
}
