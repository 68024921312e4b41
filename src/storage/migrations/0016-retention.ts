import { type Kysely, sql } from "kysely";

// Retention (docs/adr/0006-retention.md): the housekeeping job deletes, in small batches, the rows past
// their retention. Each batch selects its rows by the column below, so each needs an index to stop at
// the batch size instead of reading the table. The realtime message index gains the time each message
// was received: its window is counted from it (existing rows take their last update as a stand-in).
// Two more indexes keep the dashboard's account page from reading every hosted link.
const INDEXES: [name: string, table: string, columns: string[]][] = [
  ["jobs_finished_idx", "jobs", ["status", "finished_at"]],
  ["webhook_events_created_idx", "webhook_events", ["created_at"]],
  ["account_events_created_idx", "account_events", ["created_at"]],
  ["webhook_deliveries_final_idx", "webhook_deliveries", ["status", "updated_at"]],
  ["notify_deliveries_final_idx", "notify_deliveries", ["status", "updated_at"]],
  ["hosted_links_expires_idx", "hosted_links", ["expires_at"]],
  ["auth_attempts_expires_idx", "auth_attempts", ["expires_at"]],
  ["admin_sessions_expires_idx", "admin_sessions", ["expires_at"]],
  ["admin_invites_used_idx", "admin_invites", ["used_at"]],
  ["admin_invites_expires_idx", "admin_invites", ["expires_at"]],
  ["realtime_messages_received_idx", "realtime_messages", ["received_at"]],
  ["realtime_messages_gone_idx", "realtime_messages", ["gone_at"]],
  // The dashboard's account page lists the account's hosted links (account_id OR reconnect_account_id).
  ["hosted_links_account_idx", "hosted_links", ["account_id"]],
  ["hosted_links_reconnect_idx", "hosted_links", ["reconnect_account_id"]],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("realtime_messages")
    .addColumn("received_at", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update realtime_messages set received_at = updated_at`.execute(db);
  for (const [name, table, columns] of INDEXES)
    await db.schema.createIndex(name).on(table).columns(columns).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [name] of INDEXES) await db.schema.dropIndex(name).execute();
  await db.schema.alterTable("realtime_messages").dropColumn("received_at").execute();
}
