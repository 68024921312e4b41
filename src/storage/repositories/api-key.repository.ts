import type { Kysely } from "kysely";
import type { ApiKeyTable, Database } from "../schema.ts";

export type ApiKeyRow = ApiKeyTable;

export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ApiKeyRow): Promise<void> {
    await this.db.insertInto("api_keys").values(row).execute();
  }

  async findActiveByHash(hash: string): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom("api_keys")
      .selectAll()
      .where("hash", "=", hash)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
  }

  async list(): Promise<ApiKeyRow[]> {
    return this.db.selectFrom("api_keys").selectAll().orderBy("created_at", "desc").orderBy("id").execute();
  }

  async findById(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findByName(name: string): Promise<ApiKeyRow[]> {
    return this.db.selectFrom("api_keys").selectAll().where("name", "=", name).execute();
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable("api_keys")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
  }
}
