import type { Kysely } from "kysely";

// The mailbox's change counter (docs/adr/0008-email-cache.md): bumped whenever Mailroom sees the
// mailbox change (a delta round naming messages, a change notification, a write Mailroom sends to
// Graph), read with the account on every email read, so every process knows when its cached pages
// of that mailbox stopped being what Mailroom last saw.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("realtime_accounts")
    .addColumn("mail_version", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("realtime_accounts").dropColumn("mail_version").execute();
}
