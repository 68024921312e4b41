import type { Kysely } from "kysely";

// Idempotency keys (docs/adr/0011-send-once-and-scheduled.md): one row per API key and
// `Idempotency-Key`, the unique constraint on (scope, idempotency_key) being the lock that makes a key
// run once across processes. `response_body` is the first answer, encrypted (a webhook's secret and a
// hosted link's token are in answers); `checkpoint` is how far a send got (its draft's id), so a retry
// after a crash finishes that send rather than starting another.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("idempotency_keys")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("scope", "varchar(64)", (c) => c.notNull())
    .addColumn("idempotency_key", "varchar(255)", (c) => c.notNull())
    .addColumn("fingerprint", "varchar(64)", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("owner", "varchar(64)")
    .addColumn("locked_until", "bigint", (c) => c.notNull())
    .addColumn("checkpoint", "text")
    .addColumn("response_status", "integer")
    .addColumn("response_body", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("idempotency_keys_scope_key_uq", ["scope", "idempotency_key"])
    .execute();
  await db.schema
    .createIndex("idempotency_keys_expires_idx")
    .on("idempotency_keys")
    .column("expires_at")
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("idempotency_keys").execute();
}
