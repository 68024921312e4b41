import type { Kysely } from "kysely";

// Token lifecycle: when tokens were last refreshed (the proactive sweep), the refresh lease that makes
// one process refresh an account at a time, and the per-account cooldown after a failed refresh.
const COLUMNS = [
  ["last_refreshed_at", "bigint"],
  ["refresh_lock_owner", "varchar(100)"],
  ["refresh_lock_until", "bigint"],
  ["refresh_failures", "integer"],
  ["refresh_retry_at", "bigint"],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds a single column at a time.
  for (const [name, type] of COLUMNS) await db.schema.alterTable("accounts").addColumn(name, type).execute();
  await db.schema
    .createIndex("accounts_refresh_due_idx")
    .on("accounts")
    .columns(["status", "last_refreshed_at"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("accounts_refresh_due_idx").execute();
  for (const [name] of [...COLUMNS].reverse())
    await db.schema.alterTable("accounts").dropColumn(name).execute();
}
