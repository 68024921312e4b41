import type { Kysely } from "kysely";

// Getting events from Microsoft: per account, the Graph subscription and a sync lease; per
// account + folder, the delta link of the last completed round; per account + message, the folder
// the message was last seen in (how a move, or draft → sent, is told apart from new mail).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("realtime_accounts")
    .addColumn("account_id", "varchar(200)", (c) => c.primaryKey())
    .addColumn("baseline_at", "bigint")
    .addColumn("last_sync_at", "bigint")
    .addColumn("sync_lock_owner", "varchar(64)")
    .addColumn("sync_lock_until", "bigint")
    .addColumn("subscription_id", "varchar(200)")
    .addColumn("client_state_hash", "varchar(64)")
    .addColumn("subscription_status", "varchar(20)", (c) => c.notNull())
    .addColumn("subscription_expires_at", "bigint")
    .addColumn("subscription_failures", "integer", (c) => c.notNull())
    .addColumn("subscription_retry_at", "bigint")
    .addColumn("subscription_error", "text")
    .addColumn("last_notification_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("realtime_accounts_subscription_idx")
    .on("realtime_accounts")
    .column("subscription_id")
    .execute();

  await db.schema
    .createTable("realtime_folders")
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("folder_id", "varchar(300)", (c) => c.notNull())
    .addColumn("delta_link", "text")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("realtime_folders_pk", ["account_id", "folder_id"])
    .execute();

  await db.schema
    .createTable("realtime_messages")
    .addColumn("account_id", "varchar(200)", (c) => c.notNull())
    .addColumn("message_key", "varchar(64)", (c) => c.notNull())
    .addColumn("folder_id", "varchar(300)", (c) => c.notNull())
    .addColumn("moves", "integer", (c) => c.notNull())
    .addColumn("gone_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("realtime_messages_pk", ["account_id", "message_key"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("realtime_messages").execute();
  await db.schema.dropTable("realtime_folders").execute();
  await db.schema.dropTable("realtime_accounts").execute();
}
