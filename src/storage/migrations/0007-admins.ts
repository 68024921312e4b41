import type { Kysely } from "kysely";

// Operator dashboard: admin users (scrypt password hashes), their sessions (token hashes, idle and
// absolute expiry) and one-time setup/invite links (token hashes).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("admins")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("email", "varchar(320)", (c) => c.notNull().unique())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_sign_in_at", "bigint")
    .execute();

  await db.schema
    .createTable("admin_sessions")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("admin_id", "varchar(22)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("last_seen_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("admin_sessions_admin_idx").on("admin_sessions").column("admin_id").execute();

  await db.schema
    .createTable("admin_invites")
    .addColumn("id", "varchar(22)", (c) => c.primaryKey())
    .addColumn("token_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("kind", "varchar(10)", (c) => c.notNull())
    .addColumn("email", "varchar(320)")
    .addColumn("created_by", "varchar(22)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint")
    .addColumn("used_at", "bigint")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("admin_invites").execute();
  await db.schema.dropTable("admin_sessions").execute();
  await db.schema.dropTable("admins").execute();
}
