// The read side of Unipile's email API for Microsoft accounts, over Graph (reference unipile §2.1,
// microsoft §3). Lists page with a keyset on receivedDateTime (never `$skip`), so a walk to the end
// visits every message once even while mail arrives.

import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { GraphAttachment, GraphMessage } from "../../providers/microsoft/graph-types.ts";
import { type MessageFilter, messageFilter } from "../../providers/microsoft/odata.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import type { EmailObject, FolderObject, FolderRole } from "./email.types.ts";
import { WELL_KNOWN_BY_ROLE } from "./email.types.ts";
import {
  EXPAND_ATTACHMENTS,
  folderInfo,
  fullEmail,
  SELECT_FULL,
  SELECT_FULL_HEADERS,
  SELECT_META,
} from "./email-full.ts";
import { decodeProviderId, type IdRef, idFingerprint, parseIdRef } from "./email-ids.ts";
import type { FolderDirectory, FolderEntry, FolderTree } from "./folder-directory.ts";
import { checkCursorState, checkListFilters } from "./list-filters.ts";
import { toFolder } from "./mappers.ts";

export interface AccountLookup {
  findById(id: string): Promise<AccountRow | undefined>;
}

export interface ListFilters {
  role?: FolderRole | undefined;
  folder?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  any_email?: string | undefined;
  before?: string | undefined;
  after?: string | undefined;
  thread_id?: string | undefined;
  message_id?: string | undefined;
  meta_only?: boolean | undefined;
  include_headers?: boolean | undefined;
}

export interface ListQuery extends ListFilters {
  account_id: string;
  limit?: number | undefined;
  cursor?: string | undefined;
}

interface CursorState extends ListFilters {
  account_id: string;
  limit: number;
  /** Mirrors the SDK's MailListDecodedCursorSchema; `seen` = fingerprints of ids already returned at `last_date`'s second. */
  cursor: { last_id: string; last_date: string; seen: string[] };
}

interface Page<T> {
  value?: T[];
  "@odata.nextLink"?: string;
}

/** Graph's `$top` ceiling for messages (reference §3.3). */
const GRAPH_MAX_TOP = 1000;

export class EmailService {
  constructor(
    private readonly deps: {
      accounts: AccountLookup;
      graph: GraphClient;
      folders: FolderDirectory;
      clock: Clock;
      log: Logger;
    },
  ) {}

  // ---------- list ----------

  async list(
    query: ListQuery,
  ): Promise<{ object: "EmailList"; items: EmailObject[]; cursor: string | null }> {
    let state: CursorState;
    if (query.cursor !== undefined) {
      const decoded = decodeCursor(query.cursor) as unknown as CursorState;
      if (
        typeof decoded.account_id !== "string" ||
        typeof decoded.cursor?.last_date !== "string" ||
        !Array.isArray(decoded.cursor.seen)
      )
        throw new AppError("invalid_parameters", {
          detail: "cursor: not a cursor returned by this endpoint",
        });
      if (decoded.account_id !== query.account_id)
        throw new AppError("invalid_parameters", { detail: "cursor: belongs to another account_id" });
      checkCursorState(decoded as unknown as Record<string, unknown>);
      state = { ...decoded, limit: query.limit ?? decoded.limit };
    } else {
      const { cursor: _c, limit, ...filters } = query;
      checkListFilters(filters as Record<string, unknown>, "query");
      state = {
        ...filters,
        limit: limit ?? 100,
        cursor: { last_id: "", last_date: "", seen: [] },
      };
    }
    const account = await this.account(state.account_id);
    const tree = await this.deps.folders.tree(account.id);

    let path = "/me/messages";
    const filter: MessageFilter = {
      receivedBefore: this.upperBound(state),
      receivedAfter: state.after,
    };
    let postRole: FolderRole | undefined;
    if (state.folder !== undefined) {
      const entry = await this.folderFor(account.id, state.folder);
      path = `/me/mailFolders/${entry.folder.id}/messages`;
    } else if (state.role !== undefined) {
      const wellKnown = WELL_KNOWN_BY_ROLE[state.role];
      if (wellKnown) {
        const folderId = tree.byRole.get(state.role);
        if (!folderId) return { object: "EmailList", items: [], cursor: null };
        path = `/me/mailFolders/${folderId}/messages`;
      } else if (state.role === "starred") filter.flagged = true;
      else if (state.role === "important") filter.important = true;
      else if (state.role === "unknown") postRole = "unknown";
    }
    filter.from = state.from;
    filter.to = state.to;
    if (state.any_email)
      filter.anyParty = state.any_email
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean);
    filter.conversationId = state.thread_id;
    filter.internetMessageId = state.message_id;

    const full = !state.meta_only;
    const seen = new Set(state.cursor.seen);
    const top = Math.min(GRAPH_MAX_TOP, state.limit + seen.size);
    // One Graph request per page: the HTML body (body_plain is derived from it here, not a second
    // listing with text bodies) and the attachment metadata via $expand (not a $batch per page).
    const graphQuery = {
      $filter: messageFilter(filter),
      $orderby: "receivedDateTime desc",
      $top: top,
      $select: full ? (state.include_headers ? SELECT_FULL_HEADERS : SELECT_FULL) : SELECT_META,
      ...(full ? { $expand: EXPAND_ATTACHMENTS } : {}),
    };
    const html = await this.deps.graph.json<Page<GraphMessage>>(account.id, {
      path,
      query: graphQuery,
      ...(full ? { bodyType: "html" as const } : {}),
    });
    const fetched = html.value ?? [];
    const fresh = fetched.filter((m) => !seen.has(idFingerprint(m.id)));
    const page = fresh.slice(0, state.limit);
    const hasMore = fresh.length > state.limit || html["@odata.nextLink"] !== undefined;

    const emitted = postRole ? page.filter((m) => roleOf(tree, m) === postRole) : page;
    const items = emitted.map((message) => fullEmail(account, tree, message, full, state.include_headers));

    let cursor: string | null = null;
    const last = page.at(-1);
    if (hasMore && last) {
      const lastSecond = secondOf(last.receivedDateTime);
      const carried = lastSecond === state.cursor.last_date ? [...seen] : [];
      const atBoundary = page.filter((m) => secondOf(m.receivedDateTime) === lastSecond);
      const next: CursorState = {
        ...state,
        cursor: {
          last_id: last.id.length > 0 ? idFingerprint(last.id) : "",
          last_date: lastSecond,
          seen: [...carried, ...atBoundary.map((m) => idFingerprint(m.id))],
        },
      };
      cursor = encodeCursor(next as unknown as Record<string, unknown>);
    }
    return { object: "EmailList", items, cursor };
  }

  /** Exclusive upper bound for the next page: the second after the cursor's last date, or `before`. */
  private upperBound(state: CursorState): number | undefined {
    const bounds: number[] = [];
    if (state.before) bounds.push(Date.parse(state.before));
    // Graph dates have whole seconds; messages sharing the boundary second are told apart by `seen`.
    if (state.cursor.last_date) bounds.push(Date.parse(state.cursor.last_date) + 1000);
    if (bounds.length === 0) return undefined;
    return Math.min(...bounds);
  }

  // ---------- one email ----------

  async get(
    idParam: string,
    accountIdQuery: string | undefined,
    options: { includeHeaders?: boolean } = {},
  ): Promise<EmailObject> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    // One plain GET (one of the mailbox's 4 slots, where a 3-step $batch weighed 3): HTML body and
    // attachment metadata; body_plain is derived from the HTML.
    const [message, tree] = await Promise.all([
      this.deps.graph.json<GraphMessage>(account.id, {
        path: `/me/messages/${graphId}`,
        query: {
          $select: options.includeHeaders ? SELECT_FULL_HEADERS : SELECT_FULL,
          $expand: EXPAND_ATTACHMENTS,
        },
        bodyType: "html",
      }),
      this.deps.folders.tree(account.id),
    ]);
    return fullEmail(account, tree, message, true, options.includeHeaders);
  }

  // ---------- update / delete ----------

  async update(
    idParam: string,
    accountIdQuery: string | undefined,
    change: { unread?: boolean | undefined; folders?: string[] | undefined },
  ): Promise<void> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    let destination: FolderEntry | undefined;
    if (change.folders !== undefined) {
      if (change.folders.length !== 1)
        throw new AppError("invalid_parameters", {
          detail: "folders: Outlook accounts accept exactly one folder",
        });
      destination = await this.folderFor(account.id, change.folders[0]!);
    }
    if (change.unread !== undefined)
      await this.deps.graph.json(account.id, {
        method: "PATCH",
        path: `/me/messages/${graphId}`,
        body: { isRead: !change.unread },
      });
    if (destination)
      await this.deps.graph.json(account.id, {
        method: "POST",
        path: `/me/messages/${graphId}/move`,
        body: { destinationId: destination.folder.id },
      });
    if (change.unread === undefined && destination === undefined) {
      // An empty update (e.g. the SDK's `[object Object]` body) still names a real email.
      await this.deps.graph.json(account.id, { path: `/me/messages/${graphId}`, query: { $select: "id" } });
    }
  }

  /** Unipile's delete moves the email to Trash (reference §2.1.4), not Graph's DELETE (Recoverable Items). */
  async trash(idParam: string, accountIdQuery: string | undefined): Promise<void> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    await this.deps.graph.json(account.id, {
      method: "POST",
      path: `/me/messages/${graphId}/move`,
      body: { destinationId: "deleteditems" },
    });
  }

  // ---------- attachments ----------

  async attachment(
    idParam: string,
    attachmentIdParam: string,
    accountIdQuery: string | undefined,
  ): Promise<{ bytes: Buffer; contentType: string; name: string }> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    const attachmentId = decodeProviderId(attachmentIdParam);
    if (attachmentId === undefined)
      throw new AppError("resource_not_found", { detail: `Attachment ${attachmentIdParam} not found` });
    const path = `/me/messages/${graphId}/attachments/${attachmentId}`;
    const [meta, content] = await Promise.all([
      this.deps.graph.json<GraphAttachment>(account.id, {
        path,
        query: { $select: "id,name,contentType,size" },
      }),
      this.deps.graph.raw(account.id, { path: `${path}/$value` }),
    ]);
    return {
      bytes: content.bytes,
      contentType: meta.contentType || content.contentType || "application/octet-stream",
      name: meta.name ?? "attachment",
    };
  }

  // ---------- folders ----------

  async listFolders(accountId: string): Promise<{ object: "FolderList"; items: FolderObject[] }> {
    const account = await this.account(accountId);
    const tree = await this.deps.folders.tree(account.id, { fresh: true });
    return {
      object: "FolderList",
      items: [...tree.byId.values()].map((e) => toFolder(account.id, e.folder, e.role)),
    };
  }

  async getFolder(idParam: string, accountIdQuery: string | undefined): Promise<FolderObject> {
    const ref = parseIdRef(idParam);
    const accountId = ref?.accountId ?? accountIdQuery;
    if (!ref || accountId === undefined || (accountIdQuery !== undefined && accountIdQuery !== accountId))
      throw notFound("Folder", idParam);
    const account = await this.account(accountId);
    const tree = await this.deps.folders.tree(account.id, { fresh: true });
    const entry = tree.byId.get(ref.graphId);
    if (!entry) throw notFound("Folder", idParam);
    return toFolder(account.id, entry.folder, entry.role);
  }

  // ---------- helpers ----------

  private async account(accountId: string): Promise<AccountRow> {
    const row = await this.deps.accounts.findById(accountId);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${accountId} not found` });
    return row;
  }

  private async resolveEmail(
    idParam: string,
    accountIdQuery: string | undefined,
  ): Promise<{ account: AccountRow; graphId: string }> {
    const ref: IdRef | undefined = parseIdRef(idParam);
    if (!ref) throw notFound("Email", idParam);
    const accountId = ref.accountId ?? accountIdQuery;
    if (accountId === undefined)
      throw new AppError("resource_not_found", {
        detail: `Email ${idParam} not found; a provider id needs ?account_id=`,
      });
    if (accountIdQuery !== undefined && accountIdQuery !== accountId) throw notFound("Email", idParam);
    const account = await this.account(accountId);
    return { account, graphId: ref.graphId };
  }

  /** A folder named by Mailroom id, provider id, display name or Graph well-known name; else 422. */
  private async folderFor(accountId: string, value: string): Promise<FolderEntry> {
    const ref = parseIdRef(value);
    if (ref?.accountId !== undefined && ref.accountId !== accountId)
      throw new AppError("invalid_folder", { detail: `Folder ${value} is not a folder of this account` });
    const entry = await this.deps.folders.find(accountId, {
      ...(ref ? { graphId: ref.graphId } : {}),
      name: value,
    });
    if (!entry)
      throw new AppError("invalid_folder", { detail: `Folder ${value} does not exist in this account` });
    return entry;
  }
}

function notFound(what: string, id: string): AppError {
  return new AppError("resource_not_found", { detail: `${what} ${id} not found` });
}

function roleOf(tree: FolderTree, message: GraphMessage): FolderRole {
  return folderInfo(tree, message)?.role ?? "unknown";
}

/** The whole second a Graph date falls in, as Unipile's date format (for the cursor). */
function secondOf(value: string | null | undefined): string {
  const ms = value ? Date.parse(value) : 0;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}
