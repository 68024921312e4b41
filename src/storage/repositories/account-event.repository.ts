import type { Kysely } from "kysely";
import type { AccountEventTable, Database } from "../schema.ts";

export type AccountEventRow = AccountEventTable;

/** The durable account events (connected, reconnected, needs sign-in, deleted). */
export class AccountEventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: AccountEventRow): Promise<void> {
    await this.db.insertInto("account_events").values(row).execute();
  }

  async findById(id: string): Promise<AccountEventRow | undefined> {
    return this.db.selectFrom("account_events").selectAll().where("id", "=", id).executeTakeFirst();
  }
}
