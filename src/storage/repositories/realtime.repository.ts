import type { Kysely } from "kysely";
import { PreparedQuery } from "../prepared.ts";
import type { Database, RealtimeAccountTable, RealtimeMessageTable } from "../schema.ts";

export type RealtimeAccountRow = RealtimeAccountTable;
export type RealtimeMessageRow = RealtimeMessageTable;

/** A change to the message index, written with the delta links of the round that saw it. */
export interface MessagePlacement {
  messageKey: string;
  folderId: string;
  moves: number;
  goneAt: number | null;
  /** When the message was received: the index keeps a window of recent mail (housekeeping prunes). */
  receivedAt: number;
}

const CHUNK = 200;

/** All SQL of realtime: subscription state, sync leases, delta links and the message index. */
export class RealtimeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates the account's row if missing (idempotent). */
  async ensureAccount(accountId: string, now: number): Promise<void> {
    await this.db
      .insertInto("realtime_accounts")
      .values({
        account_id: accountId,
        baseline_at: null,
        last_sync_at: null,
        sync_lock_owner: null,
        sync_lock_until: null,
        subscription_id: null,
        client_state_hash: null,
        subscription_status: "none",
        subscription_expires_at: null,
        subscription_failures: 0,
        subscription_retry_at: null,
        subscription_error: null,
        last_notification_at: null,
        mail_version: 0,
        updated_at: now,
      })
      .onConflict((oc) => oc.column("account_id").doNothing())
      .execute();
  }

  async findAccount(accountId: string): Promise<RealtimeAccountRow | undefined> {
    return accountById.first(this.db, accountId);
  }

  async findBySubscription(subscriptionId: string): Promise<RealtimeAccountRow | undefined> {
    return this.db
      .selectFrom("realtime_accounts")
      .selectAll()
      .where("subscription_id", "=", subscriptionId)
      .executeTakeFirst();
  }

  async updateAccount(
    accountId: string,
    patch: Partial<Omit<RealtimeAccountRow, "account_id">>,
  ): Promise<void> {
    await this.db.updateTable("realtime_accounts").set(patch).where("account_id", "=", accountId).execute();
  }

  async deltaLinks(accountId: string): Promise<Map<string, string | null>> {
    const rows = await deltaLinksOf.rows(this.db, accountId);
    return new Map(rows.map((r) => [r.folder_id, r.delta_link]));
  }

  async messages(accountId: string, keys: readonly string[]): Promise<Map<string, RealtimeMessageRow>> {
    const out = new Map<string, RealtimeMessageRow>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom("realtime_messages")
        .selectAll()
        .where("account_id", "=", accountId)
        .where("message_key", "in", keys.slice(i, i + CHUNK))
        .execute();
      for (const row of rows) out.set(row.message_key, row);
    }
    return out;
  }

  /**
   * Commits one sync: the message index changes and the folders' new delta links together, so a
   * crash before this point replays the same rounds (and the outbox dedupes the same event ids).
   */
  async commitSync(
    accountId: string,
    update: {
      placements: MessagePlacement[];
      deltaLinks: Map<string, string | null>;
      now: number;
      baselineAt?: number;
    },
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < update.placements.length; i += CHUNK) {
        const rows = update.placements.slice(i, i + CHUNK).map((p) => ({
          account_id: accountId,
          message_key: p.messageKey,
          folder_id: p.folderId,
          moves: p.moves,
          gone_at: p.goneAt,
          received_at: p.receivedAt,
          updated_at: update.now,
        }));
        await trx
          .insertInto("realtime_messages")
          .values(rows)
          .onConflict((oc) =>
            oc.columns(["account_id", "message_key"]).doUpdateSet((eb) => ({
              folder_id: eb.ref("excluded.folder_id"),
              moves: eb.ref("excluded.moves"),
              gone_at: eb.ref("excluded.gone_at"),
              received_at: eb.ref("excluded.received_at"),
              updated_at: eb.ref("excluded.updated_at"),
            })),
          )
          .execute();
      }
      // Every folder's new link in one statement: an idle poll of 10 folders is one write, not ten.
      const folders = [...update.deltaLinks].map(([folderId, link]) => ({
        account_id: accountId,
        folder_id: folderId,
        delta_link: link,
        updated_at: update.now,
      }));
      for (let i = 0; i < folders.length; i += CHUNK)
        await trx
          .insertInto("realtime_folders")
          .values(folders.slice(i, i + CHUNK))
          .onConflict((oc) =>
            oc.columns(["account_id", "folder_id"]).doUpdateSet((eb) => ({
              delta_link: eb.ref("excluded.delta_link"),
              updated_at: eb.ref("excluded.updated_at"),
            })),
          )
          .execute();
      await trx
        .updateTable("realtime_accounts")
        .set({
          last_sync_at: update.now,
          updated_at: update.now,
          ...(update.baselineAt !== undefined ? { baseline_at: update.baselineAt } : {}),
        })
        .where("account_id", "=", accountId)
        .execute();
    });
  }

  /**
   * Mailroom saw the mailbox change (a delta round naming messages, a change notification, a write it
   * sent to Graph): pages cached before are no longer current, in every process
   * (docs/adr/0008-email-cache.md).
   */
  async bumpMailVersion(accountId: string): Promise<void> {
    await bumpMail.execute(this.db, accountId);
  }

  /**
   * Polling lag (now − last completed sync) over connected accounts that are polled at the poll
   * interval (a healthy subscription slows polling on purpose): count, p99 and max. Two aggregate
   * queries, for the watchdog and `/metrics`.
   */
  async pollingLag(now: number): Promise<{ accounts: number; p99Ms: number; maxMs: number }> {
    const polled = () =>
      this.db
        .selectFrom("realtime_accounts as r")
        .innerJoin("accounts as a", "a.id", "r.account_id")
        .where("a.status", "=", "OK")
        .where("r.last_sync_at", "is not", null)
        .where((eb) =>
          eb.or([
            eb("r.subscription_status", "!=", "active"),
            eb("r.subscription_expires_at", "is", null),
            eb("r.subscription_expires_at", "<=", now),
          ]),
        );
    const total = await polled()
      .select((eb) => [eb.fn.countAll<number | string>().as("n"), eb.fn.min("r.last_sync_at").as("oldest")])
      .executeTakeFirst();
    const accounts = Number(total?.n ?? 0);
    if (accounts === 0) return { accounts: 0, p99Ms: 0, maxMs: 0 };
    const p99 = await polled()
      .select("r.last_sync_at")
      .orderBy("r.last_sync_at")
      .offset(Math.floor(accounts / 100))
      .limit(1)
      .executeTakeFirst();
    const lag = (at: unknown) => Math.max(0, now - Number(at ?? now));
    return { accounts, p99Ms: lag(p99?.last_sync_at), maxMs: lag(total?.oldest) };
  }

  /** Accounts with realtime state, by id (keyset), for the watchdog. */
  async accountPage(limit: number, afterId?: string): Promise<RealtimeAccountRow[]> {
    let query = this.db.selectFrom("realtime_accounts").selectAll();
    if (afterId !== undefined) query = query.where("account_id", ">", afterId);
    return query.orderBy("account_id").limit(limit).execute();
  }

  async deleteAccount(accountId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("realtime_messages").where("account_id", "=", accountId).execute();
      await trx.deleteFrom("realtime_folders").where("account_id", "=", accountId).execute();
      await trx.deleteFrom("realtime_accounts").where("account_id", "=", accountId).execute();
    });
  }
}

// Read by every poll.
const accountById = new PreparedQuery(1, (db, accountId: string) =>
  db.selectFrom("realtime_accounts").selectAll().where("account_id", "=", accountId),
);
const deltaLinksOf = new PreparedQuery(1, (db, accountId: string) =>
  db.selectFrom("realtime_folders").select(["folder_id", "delta_link"]).where("account_id", "=", accountId),
);

const bumpMail = new PreparedQuery(1, (db, accountId: string) =>
  db
    .updateTable("realtime_accounts")
    .set((eb) => ({ mail_version: eb("mail_version", "+", 1) }))
    .where("account_id", "=", accountId),
);
