import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { StampedMemo } from "../../lib/stamped-memo.ts";
import type { AccountRepository, AccountRow } from "../../storage/repositories/account.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import { toUnipileAccount, type UnipileAccount } from "./account.mapper.ts";
import type { AccountEventRecorder } from "./account-events.ts";
import { openSharedMailbox, type SharedMailboxDeps } from "./shared-mailbox.ts";

export interface AccountList {
  object: "AccountList";
  items: UnipileAccount[];
  cursor: string | null;
}

/** List pages remembered (one per limit and cursor asked for). */
const LIST_PAGES_KEPT = 32;

export class AccountService {
  constructor(
    private readonly repo: AccountRepository,
    private readonly deps: {
      transaction: UnitOfWorkRunner;
      events: AccountEventRecorder;
      log: Logger;
      /** Storage's change stamp: a list page read at the same stamp is served again from memory. */
      changeStamp?: () => string | undefined;
    } & Pick<SharedMailboxDeps, "graph" | "settings" | "clock">,
  ) {}

  /** Pages of the account list by limit and cursor, with the stamp they were read at. */
  private readonly pages = new StampedMemo<AccountList>(LIST_PAGES_KEPT);

  /** Opens a shared mailbox through the connected account `delegateId` (shared-mailbox.ts). */
  openShared(delegateId: string, email: string): Promise<{ accountId: string; created: boolean }> {
    return openSharedMailbox({ ...this.deps, accounts: this.repo }, delegateId, email);
  }

  /** The stored account, for views that show more than Unipile's shape. */
  async find(id: string): Promise<AccountRow | undefined> {
    return this.repo.findById(id);
  }

  /**
   * Deletes the account (its tokens with it) and records the DELETED event with it, in one unit of
   * work; the event's job tells webhooks and realtime. Returns the deleted account, or undefined when
   * there is none with this id.
   */
  async delete(id: string, via: "api" | "dashboard"): Promise<AccountRow | undefined> {
    const row = await this.repo.findById(id);
    if (!row) return undefined;
    const deleted = await this.deps.transaction(async (uow) => {
      if (!(await uow.accounts.delete(row.id))) return false;
      await this.deps.events.record(uow, { accountId: row.id, type: "DELETED" });
      // The shared mailboxes it opened are reached with its tokens only: they go with it.
      for (const shared of await uow.accounts.findOpenedThrough(row.id)) {
        if (!(await uow.accounts.delete(shared.id))) continue;
        await this.deps.events.record(uow, { accountId: shared.id, type: "DELETED" });
      }
      return true;
    });
    if (!deleted) return undefined;
    this.deps.log.info({ accountId: row.id, via }, "Account deleted; its tokens were destroyed");
    return row;
  }

  /**
   * A page of accounts, newest first. An operator's backend polls this for its accounts' status: while
   * nothing was committed to the database since a page was read (storage's change stamp), the same
   * page is served without reading it again.
   */
  async list(options: { limit: number; cursor?: string | undefined }): Promise<AccountList> {
    const stamp = this.deps.changeStamp?.();
    const key = `${options.limit}:${options.cursor ?? ""}`;
    const seen = this.pages.get(key, stamp);
    if (seen) return seen;
    const page = await this.readPage(options);
    this.pages.set(key, stamp, page);
    return page;
  }

  private async readPage(options: { limit: number; cursor?: string | undefined }): Promise<AccountList> {
    let after: { createdAt: number; id: string } | undefined;
    if (options.cursor) {
      const decoded = decodeCursor(options.cursor);
      if (typeof decoded.c !== "number" || typeof decoded.i !== "string") {
        throw new AppError("invalid_parameters", {
          detail: "cursor: not a cursor returned by this endpoint",
        });
      }
      after = { createdAt: decoded.c, id: decoded.i };
    }
    const rows = await this.repo.page(options.limit + 1, after);
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    const delegates = await this.repo.emailsByIds([
      ...new Set(page.flatMap((row) => (row.delegate_account_id ? [row.delegate_account_id] : []))),
    ]);
    return {
      object: "AccountList",
      items: page.map((row) => toUnipileAccount(row, delegates)),
      cursor: rows.length > options.limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
    };
  }

  async get(id: string): Promise<UnipileAccount> {
    const row = await this.repo.findById(id);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${id} not found` });
    const delegates = await this.repo.emailsByIds(row.delegate_account_id ? [row.delegate_account_id] : []);
    return toUnipileAccount(row, delegates);
  }
}
