import { AppError } from "../../lib/errors.ts";
import type { AccountRepository } from "../../storage/repositories/account.repository.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import { toUnipileAccount, type UnipileAccount } from "./account.mapper.ts";

export class AccountService {
  constructor(private readonly repo: AccountRepository) {}

  async list(options: { limit: number; cursor?: string | undefined }): Promise<{
    object: "AccountList";
    items: UnipileAccount[];
    cursor: string | null;
  }> {
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
    return {
      object: "AccountList",
      items: page.map(toUnipileAccount),
      cursor: rows.length > options.limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
    };
  }

  async get(id: string): Promise<UnipileAccount> {
    const row = await this.repo.findById(id);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${id} not found` });
    return toUnipileAccount(row);
  }
}
