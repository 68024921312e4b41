import type { Kysely } from "kysely";
import type { AuthAttemptTable, Database, HostedLinkTable } from "../schema.ts";

export type HostedLinkRow = HostedLinkTable;
export type AuthAttemptRow = AuthAttemptTable;

export class HostedAuthRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insertLink(row: HostedLinkRow): Promise<void> {
    await this.db.insertInto("hosted_links").values(row).execute();
  }

  async findLinkByTokenHash(hash: string): Promise<HostedLinkRow | undefined> {
    return this.db.selectFrom("hosted_links").selectAll().where("token_hash", "=", hash).executeTakeFirst();
  }

  async findLink(id: string): Promise<HostedLinkRow | undefined> {
    return this.db.selectFrom("hosted_links").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** Marks the link used; false when another attempt got there first (a link connects one account). */
  async claimLink(id: string, at: number, accountId: string): Promise<boolean> {
    const result = await this.db
      .updateTable("hosted_links")
      .set({ used_at: at, account_id: accountId })
      .where("id", "=", id)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async insertAttempt(row: AuthAttemptRow): Promise<void> {
    await this.db.insertInto("auth_attempts").values(row).execute();
  }

  async findAttemptByStateHash(hash: string): Promise<AuthAttemptRow | undefined> {
    return this.db.selectFrom("auth_attempts").selectAll().where("state_hash", "=", hash).executeTakeFirst();
  }

  /** Single use: false when the callback was already processed (double submit, replay). */
  async completeAttempt(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable("auth_attempts")
      .set({ completed_at: at })
      .where("id", "=", id)
      .where("completed_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteExpiredAttempts(before: number): Promise<number> {
    const result = await this.db
      .deleteFrom("auth_attempts")
      .where("expires_at", "<", before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
