import type { Kysely } from "kysely";
import { PreparedQuery } from "../prepared.ts";
import type { AccountTable, Database } from "../schema.ts";

export type AccountRow = AccountTable;

/** Token-lifecycle columns are written by the token manager only; a new account starts without them. */
type TokenLifecycleColumn =
  | "last_refreshed_at"
  | "refresh_lock_owner"
  | "refresh_lock_until"
  | "refresh_failures"
  | "refresh_retry_at"
  | "delegate_account_id";
export type NewAccountRow = Omit<AccountRow, TokenLifecycleColumn> &
  Partial<Pick<AccountRow, TokenLifecycleColumn>>;

/** What a successful refresh writes, in one UPDATE (reference §1.6: the rotated refresh token with the access token). */
export interface RefreshedTokenFields {
  access_token: string;
  refresh_token: string;
  access_token_expires_at: number;
  scopes: string | null;
}

/** What realtime last saw of an account's mailbox (docs/adr/0008-email-cache.md). */
export interface AccountMailState {
  mail_version: number | null;
  last_sync_at: number | null;
}

export interface AccountPageCursor {
  createdAt: number;
  id: string;
}

export class AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: NewAccountRow): Promise<void> {
    await this.db.insertInto("accounts").values(row).execute();
  }

  /**
   * Inserts the account unless its mailbox (tenant id, object id) already has one; false then. No
   * unique-violation error, so it can run inside a transaction on PostgreSQL (an error aborts it).
   */
  async insertIfNew(row: NewAccountRow): Promise<boolean> {
    const inserted = await this.db
      .insertInto("accounts")
      .values(row)
      .onConflict((oc) => oc.columns(["tenant_id", "provider_user_id"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async findById(id: string): Promise<AccountRow | undefined> {
    return byId.first(this.db, id);
  }

  /**
   * The account with what realtime last saw of its mailbox (`realtime_accounts`: the change counter
   * and the end of the last delta sync; null without realtime), in one statement.
   */
  async findWithMailState(id: string): Promise<(AccountRow & AccountMailState) | undefined> {
    return byIdWithMailState.first(this.db, id);
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
    if (!after) {
      // The first page is every list call without a cursor: its SQL is compiled once.
      return firstPage.rows(this.db, limit);
    }
    return this.db
      .selectFrom("accounts")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("created_at", "<", after.createdAt),
          eb.and([eb("created_at", "=", after.createdAt), eb("id", "<", after.id)]),
        ]),
      )
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  async update(id: string, patch: Partial<Omit<AccountRow, "id" | "created_at">>): Promise<void> {
    await this.db.updateTable("accounts").set(patch).where("id", "=", id).execute();
  }

  // ---- token lifecycle (see domain/accounts/token-manager.ts) ----

  /**
   * Takes the refresh lease when nobody holds it or the holder's lease lapsed. A conditional UPDATE,
   * so of several processes racing on one database exactly one wins.
   */
  async tryTakeRefreshLease(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable("accounts")
      .set({ refresh_lock_owner: owner, refresh_lock_until: now + leaseMs })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("refresh_lock_until", "is", null), eb("refresh_lock_until", "<=", now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseRefreshLease(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable("accounts")
      .set({ refresh_lock_owner: null, refresh_lock_until: null })
      .where("id", "=", id)
      .where("refresh_lock_owner", "=", owner)
      .execute();
  }

  /**
   * Stores a refresh result and releases the lease in one UPDATE. Compare-and-set on the refresh
   * token that was redeemed: a reconnect that replaced the tokens meanwhile wins. False when nothing
   * was written (lease lost, account deleted or reconnected).
   */
  async storeRefreshedTokens(
    id: string,
    owner: string,
    redeemedRefreshToken: string,
    tokens: RefreshedTokenFields,
    now: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("accounts")
      .set({
        ...tokens,
        last_refreshed_at: now,
        refresh_failures: null,
        refresh_retry_at: null,
        refresh_lock_owner: null,
        refresh_lock_until: null,
        updated_at: now,
      })
      .where("id", "=", id)
      .where("refresh_lock_owner", "=", owner)
      .where("refresh_token", "=", redeemedRefreshToken)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Microsoft refused the grant: the mailbox must reconnect. Same compare-and-set as a store. */
  async markNeedsReconnect(
    id: string,
    owner: string,
    redeemedRefreshToken: string | null,
    reason: string,
    now: number,
  ): Promise<boolean> {
    let query = this.db
      .updateTable("accounts")
      .set({
        status: "CREDENTIALS",
        status_reason: reason,
        refresh_failures: null,
        refresh_retry_at: null,
        refresh_lock_owner: null,
        refresh_lock_until: null,
        updated_at: now,
      })
      .where("id", "=", id)
      .where("refresh_lock_owner", "=", owner);
    query =
      redeemedRefreshToken === null
        ? query.where("refresh_token", "is", null)
        : query.where("refresh_token", "=", redeemedRefreshToken);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A refresh failed for a passing reason: count it, set when to try next, release the lease. */
  async recordRefreshFailure(id: string, owner: string, failures: number, retryAt: number): Promise<void> {
    await this.db
      .updateTable("accounts")
      .set({
        refresh_failures: failures,
        refresh_retry_at: retryAt,
        refresh_lock_owner: null,
        refresh_lock_until: null,
      })
      .where("id", "=", id)
      .where("refresh_lock_owner", "=", owner)
      .execute();
  }

  async clearRefreshCooldown(id: string): Promise<void> {
    await this.db
      .updateTable("accounts")
      .set({ refresh_failures: null, refresh_retry_at: null })
      .where("id", "=", id)
      .execute();
  }

  /**
   * Connected accounts whose tokens were not refreshed since `staleBefore` (or never), or whose access
   * token expires before `expiringBefore`. Keyset-paginated on id.
   */
  async findDueForRefresh(params: {
    staleBefore: number;
    expiringBefore: number;
    limit: number;
    afterId?: string | undefined;
  }): Promise<string[]> {
    let query = this.db
      .selectFrom("accounts")
      .select("id")
      .where("status", "=", "OK")
      .where("refresh_token", "is not", null)
      .where((eb) =>
        eb.or([
          eb("last_refreshed_at", "is", null),
          eb("last_refreshed_at", "<", params.staleBefore),
          eb("access_token_expires_at", "is", null),
          eb("access_token_expires_at", "<", params.expiringBefore),
        ]),
      );
    if (params.afterId !== undefined) query = query.where("id", ">", params.afterId);
    const rows = await query.orderBy("id").limit(params.limit).execute();
    return rows.map((r) => r.id);
  }

  /** The shared mailboxes an account opened (docs/shared-mailboxes.md). */
  async findOpenedThrough(delegateId: string): Promise<AccountRow[]> {
    return this.db
      .selectFrom("accounts")
      .selectAll()
      .where("delegate_account_id", "=", delegateId)
      .orderBy("id")
      .execute();
  }

  /** Addresses of these accounts, for lists that show through whom a shared mailbox is reached. */
  async emailsByIds(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("accounts")
      .select(["id", "email"])
      .where("id", "in", ids)
      .execute();
    return new Map(rows.map((row) => [row.id, row.email]));
  }

  /** Sets the status of the shared mailboxes an account opened; the ids whose status changed. */
  async setOpenedThroughStatus(
    delegateId: string,
    status: string,
    reason: string | null,
    now: number,
  ): Promise<string[]> {
    const rows = await this.db
      .updateTable("accounts")
      .set({ status, status_reason: reason, updated_at: now })
      .where("delegate_account_id", "=", delegateId)
      .where("status", "!=", status)
      .returning("id")
      .execute();
    return rows.map((row) => row.id);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom("accounts").where("id", "=", id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

const firstPage = new PreparedQuery(1, (db, limit: number) =>
  db.selectFrom("accounts").selectAll().orderBy("created_at", "desc").orderBy("id", "desc").limit(limit),
);

/** Read on every Graph call and every poll. */
const byId = new PreparedQuery(1, (db, id: string) =>
  db.selectFrom("accounts").selectAll().where("id", "=", id),
);

const byIdWithMailState = new PreparedQuery(1, (db, id: string) =>
  db
    .selectFrom("accounts")
    .leftJoin("realtime_accounts", "realtime_accounts.account_id", "accounts.id")
    .selectAll("accounts")
    .select(["realtime_accounts.mail_version", "realtime_accounts.last_sync_at"])
    .where("accounts.id", "=", id),
);
