// GET /api/v1/folders without account_id: the folders of every account (reference unipile §2.1.6
// makes account_id optional). One request reads at most one page of accounts, a few at a time, so its
// work stays bounded however many mailboxes are connected; the page's `cursor` walks on.
import { AppError } from "../../lib/errors.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import type { FolderObject } from "./email.types.ts";
import type { FolderDirectory } from "./folder-directory.ts";
import { toFolder } from "./mappers.ts";

/** Accounts one page covers when the caller names no `limit`, and the most it may ask for. */
export const FOLDER_PAGE_ACCOUNTS = { default: 10, max: 50 } as const;
/** Accounts whose folders are read at once: each is one Graph call (or none, when cached). */
const ACCOUNTS_AT_ONCE = 4;

export interface AccountPages {
  page(limit: number, after?: { createdAt: number; id: string }): Promise<AccountRow[]>;
}

export async function listAllFolders(
  deps: { accounts: AccountPages; folders: FolderDirectory },
  options: { limit?: number | undefined; cursor?: string | undefined },
): Promise<{ object: "FolderList"; items: FolderObject[]; cursor: string | null }> {
  const limit = options.limit ?? FOLDER_PAGE_ACCOUNTS.default;
  const after = options.cursor === undefined ? undefined : accountAfter(options.cursor);
  const rows = await deps.accounts.page(limit + 1, after);
  const page = rows.slice(0, limit);
  const perAccount = await mapInBatches(page, ACCOUNTS_AT_ONCE, (account) =>
    foldersOf(deps.folders, account),
  );
  const last = page[page.length - 1];
  return {
    object: "FolderList",
    items: perAccount.flat(),
    cursor: rows.length > limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
  };
}

/**
 * An account that needs reconnecting has no readable folders: it is left out rather than failing
 * the whole page (GET /api/v1/accounts shows why). Throttling and outages still fail the request, so
 * a caller retries instead of taking a partial page for a whole one.
 */
async function foldersOf(folders: FolderDirectory, account: AccountRow): Promise<FolderObject[]> {
  // Its folders may still be cached from before; they are not served for a disconnected mailbox.
  if (account.status === "CREDENTIALS") return [];
  try {
    const tree = await folders.tree(account.id);
    return [...tree.byId.values()].map((e) => toFolder(account.id, e.folder, e.role));
  } catch (error) {
    if (error instanceof AppError && error.code === "disconnected_account") return [];
    throw error;
  }
}

function accountAfter(cursor: string): { createdAt: number; id: string } {
  const decoded = decodeCursor(cursor);
  if (typeof decoded.c !== "number" || typeof decoded.i !== "string")
    throw new AppError("invalid_parameters", { detail: "cursor: not a cursor returned by this endpoint" });
  return { createdAt: decoded.c, id: decoded.i };
}

async function mapInBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}
