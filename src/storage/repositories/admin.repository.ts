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

  /**
   * One page of accounts, newest first, optionally those whose name or address contains `query`
   * (case-insensitive). Keyset paging on `accounts_created_idx (created_at, id)`: a page reads `limit`
   * rows of the index, never the table. A search can use no index (a substring), so it examines at
   * most `scanLimit` accounts per request, in index order after the cursor; `next` continues after the
   * last row returned or, when the scan budget ran out first, after the last row examined, so paging on
   * visits every account once while no request reads more than `scanLimit` rows.
   */
  async accountsPage(request: {
    query: string;
    limit: number;
    after?: AccountKey | undefined;
    scanLimit: number;
  }): Promise<{ rows: AccountTable[]; next: AccountKey | null }> {
    const { limit, after, scanLimit } = request;
    const needle = request.query.trim().toLowerCase();
    const newestFirst = this.db
      .selectFrom("accounts")
      .selectAll()
      .$if(after !== undefined, (q) =>
        q.where(({ eb, refTuple, tuple }) =>
          eb(refTuple("created_at", "id"), "<", tuple(after!.createdAt, after!.id)),
        ),
      )
      .orderBy("created_at", "desc")
      .orderBy("id", "desc");
    if (needle === "") {
      const rows = await newestFirst.limit(limit + 1).execute();
      const page = rows.slice(0, limit);
      return { rows: page, next: rows.length > limit ? keyOf(page.at(-1)!) : null };
    }
    const pattern = `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // ESCAPE makes `\` the escape character on SQLite too (PostgreSQL's default).
    const rows = await this.db
      .selectFrom(newestFirst.limit(scanLimit).as("w"))
      .selectAll()
      .where(
        sql<boolean>`(lower(name) like ${pattern} escape '\\' or lower(email) like ${pattern} escape '\\')`,
      )
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    if (rows.length > limit) return { rows: page, next: keyOf(page.at(-1)!) };
    // Fewer matches than a page: was the scan cut short by its budget? Then continue after its end.
    const boundary = await newestFirst
      .clearSelect()
      .select(["created_at", "id"])
      .limit(1)
      .offset(scanLimit - 1)
      .executeTakeFirst();
    if (!boundary) return { rows: page, next: null };
    const last = { createdAt: boundary.created_at, id: boundary.id };
    const more = await this.db
      .selectFrom("accounts")
      .select("id")
      .where(({ eb, refTuple, tuple }) =>
        eb(refTuple("created_at", "id"), "<", tuple(last.createdAt, last.id)),
      )
      .limit(1)
      .executeTakeFirst();
    return { rows: page, next: more ? last : null };
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

/** Where an accounts page ends: the keyset of its last row. */
export interface AccountKey {
  createdAt: number;
  id: string;
}

function keyOf(row: AccountTable): AccountKey {
  return { createdAt: row.created_at, id: row.id };
}
