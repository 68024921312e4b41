import type { Kysely } from "kysely";

// Scheduled send (docs/adr/0011-send-once-and-scheduled.md): one row per email waiting in its mailbox
// as a draft until `send_at`; a job enqueued in the same transaction sends it. No body or attachment
// bytes are stored: the draft in the mailbox holds them. Listed per account by (send_at, id).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("scheduled_emails")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("draft_id", "text", (c) => c.notNull())
    .addColumn("owns_draft", "integer", (c) => c.notNull())
    .addColumn("tracking_id", "varchar(64)", (c) => c.notNull())
    .addColumn("send_at", "bigint", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("subject", "text")
    .addColumn("to_attendees", "text", (c) => c.notNull())
    .addColumn("error", "text")
    .addColumn("waiting_reason", "varchar(64)")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("sent_at", "bigint")
    .execute();
  await db.schema
    .createIndex("scheduled_emails_account_idx")
    .on("scheduled_emails")
    .columns(["account_id", "send_at", "id"])
    .execute();
  await db.schema
    .createIndex("scheduled_emails_send_at_idx")
    .on("scheduled_emails")
    .columns(["send_at", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("scheduled_emails").execute();
}
