// Admin users, their sessions and setup/invite links (migration 0007).
import { type Kysely, sql } from "kysely";
import type {
  AccountTable,
  AdminInviteTable,
  AdminSessionTable,
  AdminTable,
  Database,
  HostedLinkTable,
} from "../schema.ts";

export type AdminRow = AdminTable;
export type AdminSessionRow = AdminSessionTable;
export type AdminInviteRow = AdminInviteTable;

export class AdminRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom("admins")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async list(): Promise<AdminRow[]> {
    return this.db.selectFrom("admins").selectAll().orderBy("created_at").orderBy("id").execute();
  }

  async findById(id: string): Promise<AdminRow | undefined> {
    return this.db.selectFrom("admins").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findByEmail(email: string): Promise<AdminRow | undefined> {
    return this.db.selectFrom("admins").selectAll().where("email", "=", email).executeTakeFirst();
  }

  /** Inserts the admin and marks the invite used in one transaction; false when the invite was used meanwhile. */
  async insertWithInvite(row: AdminRow, inviteId: string, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable("admin_invites")
        .set({ used_at: at })
        .where("id", "=", inviteId)
        .where("used_at", "is", null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) return false;
      await trx.insertInto("admins").values(row).execute();
      return true;
    });
  }

  async touchSignIn(id: string, at: number): Promise<void> {
    await this.db.updateTable("admins").set({ last_sign_in_at: at }).where("id", "=", id).execute();
  }

  // ---- sessions ----

  async insertSession(row: AdminSessionRow): Promise<void> {
    await this.db.insertInto("admin_sessions").values(row).execute();
  }

  async findSessionByHash(hash: string): Promise<AdminSessionRow | undefined> {
    return this.db.selectFrom("admin_sessions").selectAll().where("token_hash", "=", hash).executeTakeFirst();
  }

  async touchSession(id: string, at: number): Promise<void> {
    await this.db.updateTable("admin_sessions").set({ last_seen_at: at }).where("id", "=", id).execute();
  }

  async deleteSession(id: string): Promise<void> {
    await this.db.deleteFrom("admin_sessions").where("id", "=", id).execute();
  }

  async deleteExpiredSessions(now: number, idleMs: number): Promise<void> {
    await this.db
      .deleteFrom("admin_sessions")
      .where((eb) => eb.or([eb("expires_at", "<=", now), eb("last_seen_at", "<=", now - idleMs)]))
      .execute();
  }

  // ---- setup and invite links ----

  async insertInvite(row: AdminInviteRow): Promise<void> {
    await this.db.insertInto("admin_invites").values(row).execute();
  }

  async findInviteByHash(hash: string): Promise<AdminInviteRow | undefined> {
    return this.db.selectFrom("admin_invites").selectAll().where("token_hash", "=", hash).executeTakeFirst();
  }

  async listOpenInvites(now: number): Promise<AdminInviteRow[]> {
    return this.db
      .selectFrom("admin_invites")
      .selectAll()
      .where("kind", "=", "invite")
      .where("used_at", "is", null)
      .where("expires_at", ">", now)
      .orderBy("created_at", "desc")
      .execute();
  }

  // ---- what the dashboard reads about accounts ----

  /** Accounts whose name or address contains `query` (case-insensitive), newest first. */
  async searchAccounts(query: string, limit: number): Promise<AccountTable[]> {
    let q = this.db.selectFrom("accounts").selectAll();
    const needle = query.trim().toLowerCase();
    if (needle !== "") {
      const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      // ESCAPE makes `\` the escape character on SQLite too (PostgreSQL's default).
      q = q.where(
        sql<boolean>`(lower(name) like ${pattern} escape '\\' or lower(email) like ${pattern} escape '\\')`,
      );
    }
    return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit).execute();
  }

  /** Hosted links that created or reconnected an account: the account's connection history. */
  async linksOfAccount(accountId: string): Promise<HostedLinkTable[]> {
    return this.db
      .selectFrom("hosted_links")
      .selectAll()
      .where((eb) => eb.or([eb("account_id", "=", accountId), eb("reconnect_account_id", "=", accountId)]))
      .orderBy("created_at", "desc")
      .limit(50)
      .execute();
  }
}
