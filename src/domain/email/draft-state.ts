// Where a draft Mailroom built stands before it is sent (again): a scheduled send at its time, a keyed
// send resumed after a crash (docs/adr/0011-send-once-and-scheduled.md). With immutable ids a sent
// draft keeps its id, in Sent Items with `isDraft: false`; Outlook's Delete moves it to Deleted Items,
// still a draft, where `/send` would still send it. Deleted Items' id is read once per account: folder
// ids are stable (reference microsoft §3.4), and asking for it with every send made a scheduled send
// three Graph calls instead of two.
import { isAppError } from "../../lib/errors.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";

export type DraftState = "draft" | "sent" | "deleted" | "missing";

const MAX_CACHED_ACCOUNTS = 10_000;

export class DraftStates {
  private readonly trashIds = new Map<string, Promise<string | undefined>>();

  constructor(private readonly graph: GraphClient) {}

  async of(accountId: string, draftId: string): Promise<DraftState> {
    try {
      const message = await this.graph.json<{ isDraft?: boolean; parentFolderId?: string }>(accountId, {
        method: "GET",
        path: `/me/messages/${draftId}?$select=isDraft,parentFolderId`,
      });
      if (message?.isDraft === false) return "sent";
      const trash = await this.trashId(accountId);
      return trash !== undefined && trash === message?.parentFolderId ? "deleted" : "draft";
    } catch (error) {
      if (isAppError(error) && error.code === "resource_not_found") return "missing";
      throw error;
    }
  }

  private trashId(accountId: string): Promise<string | undefined> {
    const cached = this.trashIds.get(accountId);
    if (cached) return cached;
    const loading = this.graph
      .json<{ id?: string }>(accountId, { method: "GET", path: "/me/mailFolders/deleteditems?$select=id" })
      .then((folder) => folder?.id);
    if (this.trashIds.size >= MAX_CACHED_ACCOUNTS)
      this.trashIds.delete(this.trashIds.keys().next().value as string);
    this.trashIds.set(accountId, loading);
    // A failed read is not kept: the next send asks again.
    loading.catch(() => this.trashIds.delete(accountId));
    return loading;
  }
}
