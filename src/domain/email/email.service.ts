// The read side of Unipile's email API for Microsoft accounts, over Graph (reference unipile §2.1,
// microsoft §3). Lists page with a keyset on receivedDateTime (never `$skip`), so a walk to the end
// visits every message once even while mail arrives; searches page by Graph's token (list-plan.ts).

import type { Readable } from "node:stream";
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { EXPAND_MARKS } from "../../providers/microsoft/extended-properties.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { GraphMessage, GraphPage } from "../../providers/microsoft/graph-types.ts";
import type { AccountMailState, AccountRow } from "../../storage/repositories/account.repository.ts";
import { type AccountPages, listAllFolders } from "./all-folders.ts";
import { type AttachmentDownload, downloadAttachment } from "./attachment-download.ts";
import type { EmailObject, EmailPage, FolderObject } from "./email.types.ts";
import { type CachedKind, type EmailCache, emailVersion } from "./email-cache.ts";
import { EXPAND_FULL, emailsByGraphId, SELECT_FULL, SELECT_FULL_HEADERS, SELECT_META } from "./email-full.ts";
import { isMessageIdRef, parseEmailRef, parseIdRef } from "./email-ids.ts";
import { resolveMessageId } from "./email-ref.ts";
import type { FolderDirectory, FolderEntry, FolderTree } from "./folder-directory.ts";
import { cursorState, type ListQuery } from "./list-cursor.ts";
import { listPlan } from "./list-plan.ts";
import { toFolder } from "./mappers.ts";
import { folderInfo, mapMessage } from "./message-mapping.ts";
import { findReplyParents, inReplyToOf, KnownParents } from "./reply-parents.ts";
import { pageKey, seenVersion } from "./seen-reads.ts";

export interface AccountLookup {
  findById(id: string): Promise<AccountRow | undefined>;
  /** The account with realtime's view of its mailbox, for reads that may be served from the cache. */
  findWithMailState(id: string): Promise<(AccountRow & AccountMailState) | undefined>;
}
type ReadAccount = AccountRow & AccountMailState;

export type { ListFilters, ListQuery } from "./list-cursor.ts";

/** What proves a cached email current (docs/adr/0008-email-cache.md), and places it on a page. */
const SELECT_VERSION = "id,changeKey,parentFolderId,receivedDateTime";

export class EmailService {
  private readonly knownParents: KnownParents;
  private readonly trustMs: number;

  constructor(
    private readonly deps: {
      accounts: AccountLookup & AccountPages;
      graph: GraphClient;
      folders: FolderDirectory;
      clock: Clock;
      log: Logger;
      /** Mapped emails by message version; absent or disabled: every read maps what Graph returns. */
      cache?: EmailCache;
      /**
       * How recent realtime's last completed sync of a mailbox must be for a read to be served from
       * what Mailroom has seen without asking Graph (docs/adr/0008-email-cache.md); 0: always ask.
       */
      trustRealtimeMs?: number;
    },
  ) {
    this.knownParents = new KnownParents(() => deps.clock.now());
    this.trustMs = deps.trustRealtimeMs ?? 0;
  }

  // ---------- list ----------

  async list(query: ListQuery): Promise<EmailPage> {
    const state = cursorState(query);
    const account = await this.readAccount(state.account_id);
    const tree = await this.deps.folders.tree(account.id);
    const folderPath =
      state.folder !== undefined
        ? `/me/mailFolders/${(await this.folderFor(account.id, state.folder)).folder.id}/messages`
        : undefined;
    const plan = listPlan(state, tree, folderPath);
    if (!plan) return { object: "EmailList", items: [], cursor: null };
    const { path, query: base, place } = plan;

    const full = !state.meta_only;
    const kind: CachedKind = full ? "2_full" : "1_meta";
    const cache = this.cacheFor(state.include_headers);

    // The mailbox unchanged since this page was listed, as far as Mailroom has seen: the page as then.
    const seen = cache ? seenVersion(account, this.trustMs, this.deps.clock.now()) : undefined;
    const key = seen !== undefined ? pageKey(kind, path, base, state) : "";
    if (cache && seen !== undefined) {
      const page = cache.getPage(account.id, key, seen);
      if (page) {
        await this.deps.graph.passLimiter(account.id);
        return { object: "EmailList", items: page.items, cursor: page.cursor, remembered: page.remembered };
      }
    }
    const remember = (graphIds: string[], cursor: string | null) => {
      if (cache && seen !== undefined) cache.setPage(account.id, key, seen, kind, graphIds, cursor);
    };

    // Pages of an account with cached emails: first only the page's ids and versions (no bodies, no
    // other fields); when every email on it is cached at that version, the page is served from the cache.
    const held = cache?.holds(account.id) ?? false;
    if (cache?.worthProbing(account.id)) {
      const probe = await this.deps.graph.json<GraphPage<GraphMessage>>(account.id, {
        path,
        query: { ...base, $select: SELECT_VERSION },
      });
      const placed = place(probe.value ?? [], probe["@odata.nextLink"]);
      const items: EmailObject[] = [];
      for (const message of placed.emitted) {
        const hit = cache.get(account.id, kind, message.id, this.version(account, tree, message), seen);
        if (!hit) break;
        items.push(hit);
      }
      if (items.length === placed.emitted.length) {
        remember(
          placed.emitted.map((message) => message.id),
          placed.cursor,
        );
        return { object: "EmailList", items, cursor: placed.cursor };
      }
    }

    // One Graph request per page: the HTML body (body_plain is derived from it here, not a second
    // listing with text bodies) and the attachment metadata via $expand (not a $batch per page).
    const graphQuery = {
      ...base,
      $select: full ? (state.include_headers ? SELECT_FULL_HEADERS : SELECT_FULL) : SELECT_META,
      $expand: full ? EXPAND_FULL : EXPAND_MARKS,
    };
    const html = await this.deps.graph.json<GraphPage<GraphMessage>>(account.id, {
      path,
      query: graphQuery,
      ...(full ? { bodyType: "html" as const } : {}),
    });
    const placed = place(html.value ?? [], html["@odata.nextLink"]);
    let reused = 0;
    const versions = placed.emitted.map((message) =>
      cache ? this.version(account, tree, message) : undefined,
    );
    const hits = placed.emitted.map((message, i) =>
      cache?.get(account.id, kind, message.id, versions[i], seen),
    );
    const misses = placed.emitted.filter((_, i) => hits[i] === undefined);
    const parents = await findReplyParents(this.parentLookup(), account.id, misses, html.value ?? []);
    const items = placed.emitted.map((message, i) => {
      const cached = hits[i];
      if (cached) {
        reused++;
        return cached;
      }
      const email = mapMessage(account, tree, message, {
        full,
        includeHeaders: state.include_headers,
        parents,
      });
      if (parents.complete || inReplyToOf(message) === undefined)
        cache?.set(account.id, kind, message.id, versions[i], email, seen);
      return email;
    });
    // The first page an account caches says nothing about whether its next reads will be repeats.
    if (held) cache?.recordPageRead(account.id, reused, items.length);
    remember(
      placed.emitted.map((message) => message.id),
      placed.cursor,
    );
    return { object: "EmailList", items, cursor: placed.cursor };
  }

  // ---------- one email ----------

  async get(
    idParam: string,
    accountIdQuery: string | undefined,
    options: { includeHeaders?: boolean } = {},
  ): Promise<EmailObject> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    const cache = this.cacheFor(options.includeHeaders);
    const seen = cache ? seenVersion(account, this.trustMs, this.deps.clock.now()) : undefined;
    // Named by Graph at the mailbox version Mailroom last saw: served as then.
    const unchanged = seen !== undefined ? cache?.getSeen(account.id, "2_full", graphId, seen) : undefined;
    if (unchanged) {
      await this.deps.graph.passLimiter(account.id);
      return unchanged;
    }
    // A message cached at some version: ask Graph only for its version (no body, no attachments).
    if (cache?.has(account.id, "2_full", graphId)) {
      const [probe, tree] = await Promise.all([
        this.deps.graph.json<GraphMessage>(account.id, {
          path: `/me/messages/${graphId}`,
          query: { $select: SELECT_VERSION },
        }),
        this.deps.folders.tree(account.id),
      ]);
      const hit = cache.get(account.id, "2_full", probe.id, this.version(account, tree, probe), seen);
      if (hit) return hit;
    }
    // One plain GET (one of the mailbox's 4 slots, where a 3-step $batch weighed 3): HTML body and
    // attachment metadata; body_plain is derived from the HTML.
    const [message, tree] = await Promise.all([
      this.deps.graph.json<GraphMessage>(account.id, {
        path: `/me/messages/${graphId}`,
        query: {
          $select: options.includeHeaders ? SELECT_FULL_HEADERS : SELECT_FULL,
          $expand: EXPAND_FULL,
        },
        bodyType: "html",
      }),
      this.deps.folders.tree(account.id),
    ]);
    const parents = await findReplyParents(this.parentLookup(), account.id, [message], []);
    const email = mapMessage(account, tree, message, {
      full: true,
      includeHeaders: options.includeHeaders,
      parents,
    });
    if (parents.complete)
      cache?.set(account.id, "2_full", message.id, this.version(account, tree, message), email, seen);
    return email;
  }

  /** Many emails of one account, as `get` maps each, in `$batch` reads (email-full.ts). */
  emailsOf(account: AccountRow, graphIds: readonly string[]): Promise<Map<string, EmailObject>> {
    return emailsByGraphId({ folders: this.deps.folders, parents: this.parentLookup() }, account, graphIds);
  }

  private parentLookup() {
    return { graph: this.deps.graph, log: this.deps.log, knownParents: this.knownParents };
  }

  /** The cache, when on and when the read's shape is one it keeps (headers are not cached). */
  private cacheFor(includeHeaders: boolean | undefined): EmailCache | undefined {
    const cache = this.deps.cache;
    return cache?.enabled && !includeHeaders ? cache : undefined;
  }

  private version(account: AccountRow, tree: FolderTree, message: GraphMessage): string | undefined {
    return emailVersion(message.changeKey, message.parentFolderId, folderInfo(tree, message), account.email);
  }

  // ---------- update / delete ----------

  async update(
    idParam: string,
    accountIdQuery: string | undefined,
    change: {
      unread?: boolean | undefined;
      folders?: string[] | undefined;
      categories?: string[] | undefined;
    },
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
    // One PATCH for both (Graph message: isRead and categories are writable on any message).
    const patch = {
      ...(change.unread !== undefined ? { isRead: !change.unread } : {}),
      ...(change.categories !== undefined ? { categories: change.categories } : {}),
    };
    const patched = Object.keys(patch).length > 0;
    if (patched)
      await this.deps.graph.json(account.id, {
        method: "PATCH",
        path: `/me/messages/${graphId}`,
        body: patch,
      });
    if (destination)
      await this.deps.graph.json(account.id, {
        method: "POST",
        path: `/me/messages/${graphId}/move`,
        body: { destinationId: destination.folder.id },
      });
    if (patched || destination) this.deps.cache?.forget(account.id, [graphId]);
    if (!patched && destination === undefined) {
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
    this.deps.cache?.forget(account.id, [graphId]);
  }

  // ---------- attachments ----------

  /** An attachment's bytes, streamed from Graph (attachment-download.ts). */
  async attachment(
    idParam: string,
    attachmentIdParam: string,
    accountIdQuery: string | undefined,
    signal?: AbortSignal,
  ): Promise<AttachmentDownload> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    return downloadAttachment(this.deps.graph, account.id, graphId, attachmentIdParam, signal);
  }

  /**
   * The message as sent (RFC 822 / MIME), streamed from Graph's `/me/messages/{id}/$value`
   * (docs/raw-message.md): never held whole here; `signal` cancels the upstream request.
   */
  async raw(
    idParam: string,
    accountIdQuery: string | undefined,
    signal: AbortSignal,
  ): Promise<{ body: Readable; contentLength: string | undefined }> {
    const { account, graphId } = await this.resolveEmail(idParam, accountIdQuery);
    const answer = await this.deps.graph.stream(
      account.id,
      { path: `/me/messages/${graphId}/$value` },
      signal,
    );
    return { body: answer.body, contentLength: answer.header("content-length") ?? undefined };
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

  /** Every account's folders, one page of accounts per call (all-folders.ts). */
  listAllFolders(options: { limit?: number | undefined; cursor?: string | undefined }) {
    return listAllFolders({ accounts: this.deps.accounts, folders: this.deps.folders }, options);
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

  private async readAccount(accountId: string): Promise<ReadAccount> {
    const row = await this.deps.accounts.findWithMailState(accountId);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${accountId} not found` });
    return row;
  }

  private async account(accountId: string): Promise<AccountRow> {
    const row = await this.deps.accounts.findById(accountId);
    if (!row) throw new AppError("resource_not_found", { detail: `Account ${accountId} not found` });
    return row;
  }

  private async resolveEmail(
    idParam: string,
    accountIdQuery: string | undefined,
  ): Promise<{ account: ReadAccount; graphId: string }> {
    const ref = parseEmailRef(idParam);
    if (!ref) throw notFound("Email", idParam);
    const accountId = isMessageIdRef(ref) ? accountIdQuery : (ref.accountId ?? accountIdQuery);
    if (accountId === undefined)
      throw new AppError("resource_not_found", {
        detail: `Email ${idParam} not found; a provider id or Message-ID needs ?account_id=`,
      });
    if (accountIdQuery !== undefined && accountIdQuery !== accountId) throw notFound("Email", idParam);
    const account = await this.readAccount(accountId);
    if (!isMessageIdRef(ref)) return { account, graphId: ref.graphId };
    return { account, graphId: await resolveMessageId(this.deps.graph, account.id, ref.messageId) };
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
