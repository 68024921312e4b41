import type { Kysely } from "kysely";
import type { Database, SettingTable } from "../schema.ts";

export type SettingRow = SettingTable;

/** Key/value settings; `secret` holds an already-encrypted envelope, never plaintext. */
export class SettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(key: string): Promise<SettingRow | undefined> {
    return this.db.selectFrom("settings").selectAll().where("key", "=", key).executeTakeFirst();
  }

  async put(row: SettingRow): Promise<void> {
    await this.db
      .insertInto("settings")
      .values(row)
      .onConflict((oc) =>
        oc.column("key").doUpdateSet({ value: row.value, secret: row.secret, updated_at: row.updated_at }),
      )
      .execute();
  }

  /** Stores the row unless the key exists (the first writer wins). */
  async insertIfAbsent(row: SettingRow): Promise<void> {
    await this.db
      .insertInto("settings")
      .values(row)
      .onConflict((oc) => oc.column("key").doNothing())
      .execute();
  }

  async delete(key: string): Promise<void> {
    await this.db.deleteFrom("settings").where("key", "=", key).execute();
  }
}
