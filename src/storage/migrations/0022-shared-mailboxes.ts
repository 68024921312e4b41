import type { Kysely } from "kysely";

// Shared mailboxes (docs/shared-mailboxes.md): an account opened through a connected user holds no
// tokens of its own; `delegate_account_id` names the account whose sign-in reaches it. Indexed so
// deleting or disconnecting that account finds the shared ones it opened.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("accounts").addColumn("delegate_account_id", "varchar(200)").execute();
  await db.schema
    .createIndex("accounts_delegate_idx")
    .on("accounts")
    .columns(["delegate_account_id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("accounts_delegate_idx").execute();
  await db.schema.alterTable("accounts").dropColumn("delegate_account_id").execute();
}
