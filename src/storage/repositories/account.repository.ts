import type { Kysely } from "kysely";
import type { AccountTable, Database } from "../schema.ts";

export type AccountRow = AccountTable;

export interface AccountPageCursor {
  createdAt: number;
  id: string;
}

export class AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: AccountRow): Promise<void> {
    await this.db.insertInto("accounts").values(row).execute();
  }

  async findById(id: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** One mailbox is one account: Microsoft's (tenant id, object id) is the key, never the address. */
  async findByMailbox(tenantId: string, providerUserId: string): Promise<AccountRow | undefined> {
    return this.db
      .selectFrom("accounts")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("provider_user_id", "=", providerUserId)
      .executeTakeFirst();
  }

  /** Newest first, keyset-paginated on (created_at, id) so pages stay stable while accounts are added. */
  async page(limit: number, after?: AccountPageCursor): Promise<AccountRow[]> {
    let query = this.db.selectFrom("accounts").selectAll();
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb("created_at", "<", after.createdAt),
          eb.and([eb("created_at", "=", after.createdAt), eb("id", "<", after.id)]),
        ]),
      );
    }
    return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
  }

  async update(id: string, patch: Partial<Omit<AccountRow, "id" | "created_at">>): Promise<void> {
    await this.db.updateTable("accounts").set(patch).where("id", "=", id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("accounts").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
