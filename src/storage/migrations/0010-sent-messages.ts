import type { Kysely } from "kysely";

// Mail sent through Mailroom's API: per account + message (the SHA-256 of the sent message's Graph
// immutable id), the `tracking_id` the send returned and when. Realtime reads it to tell a
// `mail_sent` with `origin: "unipile"` from mail sent in Outlook (`"external"`); rows older than the
// retention are pruned by the realtime watchdog.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sent_messages")
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("message_key", "varchar(64)", (c) => c.notNull())
    .addColumn("tracking_id", "varchar(64)", (c) => c.notNull())
    .addColumn("sent_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("sent_messages_pk", ["account_id", "message_key"])
    .execute();
  await db.schema.createIndex("sent_messages_sent_at_idx").on("sent_messages").column("sent_at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("sent_messages").execute();
}
