import type { Kysely } from "kysely";

// Hosted auth links and the OAuth attempts started from them; one mailbox is one account.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("hosted_links")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("type", "varchar(20)", (c) => c.notNull())
    .addColumn("reconnect_account_id", "varchar(22)")
    .addColumn("name", "text")
    .addColumn("notify_url", "text")
    .addColumn("success_redirect_url", "text")
    .addColumn("failure_redirect_url", "text")
    .addColumn("bypass_success_screen", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("used_at", "bigint")
    .addColumn("account_id", "varchar(22)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("auth_attempts")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("state_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("link_id", "varchar(22)", (c) => c.notNull())
    .addColumn("nonce", "varchar(64)", (c) => c.notNull())
    .addColumn("code_verifier", "text", (c) => c.notNull())
    .addColumn("redirect_uri", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addColumn("completed_at", "bigint")
    .execute();

  await db.schema.dropIndex("accounts_provider_user_idx").execute();
  await db.schema
    .createIndex("accounts_mailbox_unique")
    .on("accounts")
    .columns(["tenant_id", "provider_user_id"])
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("accounts_mailbox_unique").execute();
  await db.schema
    .createIndex("accounts_provider_user_idx")
    .on("accounts")
    .columns(["provider_user_id", "tenant_id"])
    .execute();
  await db.schema.dropTable("auth_attempts").execute();
  await db.schema.dropTable("hosted_links").execute();
}
