import type { Kysely } from "kysely";

// Migrations never import application code: the schema here is written out as it was at this version.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("meta")
    .addColumn("key", "varchar(100)", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("name", "varchar(200)", (c) => c.notNull())
    .addColumn("prefix", "varchar(20)", (c) => c.notNull())
    .addColumn("hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_used_at", "bigint")
    .addColumn("revoked_at", "bigint")
    .execute();

  await db.schema
    .createTable("settings")
    .addColumn("key", "varchar(100)", (c) => c.primaryKey())
    .addColumn("value", "text")
    .addColumn("secret", "text")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("accounts")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("type", "varchar(20)", (c) => c.notNull())
    .addColumn("name", "varchar(320)", (c) => c.notNull())
    .addColumn("email", "varchar(320)", (c) => c.notNull())
    .addColumn("provider_user_id", "varchar(100)", (c) => c.notNull())
    .addColumn("tenant_id", "varchar(100)")
    .addColumn("status", "varchar(20)", (c) => c.notNull())
    .addColumn("status_reason", "text")
    .addColumn("access_token", "text")
    .addColumn("refresh_token", "text")
    .addColumn("access_token_expires_at", "bigint")
    .addColumn("scopes", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("accounts_created_idx").on("accounts").columns(["created_at", "id"]).execute();
  await db.schema
    .createIndex("accounts_provider_user_idx")
    .on("accounts")
    .columns(["provider_user_id", "tenant_id"])
    .execute();

  await db.schema
    .createTable("jobs")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("kind", "varchar(100)", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("idempotency_key", "varchar(300)", (c) => c.unique())
    .addColumn("status", "varchar(10)", (c) => c.notNull())
    .addColumn("run_at", "bigint", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("max_attempts", "integer", (c) => c.notNull())
    .addColumn("locked_by", "varchar(100)")
    .addColumn("locked_until", "bigint")
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("finished_at", "bigint")
    .execute();
  await db.schema.createIndex("jobs_due_idx").on("jobs").columns(["status", "run_at"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ["jobs", "accounts", "settings", "api_keys", "meta"])
    await db.schema.dropTable(table).execute();
}
