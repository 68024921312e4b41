// What one GET /api/v1/emails page asks Graph for, and how the answer becomes a page and a cursor.
// A listing pages by keyset on receivedDateTime (`$filter` + `$orderby`, list-cursor.ts); a search
// (list-search.ts) sends `$search` alone, keeps Graph's ranking and pages by Graph's own token.
import type { GraphMessage } from "../../providers/microsoft/graph-types.ts";
import { type MessageFilter, messageFilter } from "../../providers/microsoft/odata.ts";
import type { FolderRole } from "./email.types.ts";
import { WELL_KNOWN_BY_ROLE } from "./email.types.ts";
import { idFingerprint } from "./email-ids.ts";
import type { FolderTree } from "./folder-directory.ts";
import { type CursorState, nextCursor, nextSearchCursor, upperBound } from "./list-cursor.ts";
import { graphSearchValue, pageOption, pageTokenOf } from "./list-search.ts";
import { roleOf } from "./message-mapping.ts";

/** Graph's `$top` ceiling for messages (reference §3.3). */
const GRAPH_MAX_TOP = 1000;

export interface Placed {
  /** The messages of this page, in order. */
  page: GraphMessage[];
  /** The page's messages the caller returns (a post-filtered role drops some). */
  emitted: GraphMessage[];
  cursor: string | null;
}

export interface ListPlan {
  path: string;
  /** Query options without `$select`/`$expand`. */
  query: Record<string, string | number | undefined>;
  place(fetched: GraphMessage[], nextLink: string | undefined): Placed;
}

/**
 * The plan for a page of `state`; `folderPath` is the messages path of the folder the request
 * names (resolved by the caller), undefined for none. Undefined when the page is empty by
 * construction (a role whose folder this mailbox lacks).
 */
export function listPlan(
  state: CursorState,
  tree: FolderTree,
  folderPath: string | undefined,
): ListPlan | undefined {
  let path = folderPath ?? "/me/messages";
  const filter: MessageFilter = { receivedBefore: upperBound(state), receivedAfter: state.after };
  let postRole: FolderRole | undefined;
  if (folderPath === undefined && state.role !== undefined) {
    const wellKnown = WELL_KNOWN_BY_ROLE[state.role];
    if (wellKnown) {
      const folderId = tree.byRole.get(state.role);
      if (!folderId) return undefined;
      path = `/me/mailFolders/${folderId}/messages`;
    } else if (state.role === "starred") filter.flagged = true;
    else if (state.role === "important") filter.important = true;
    else if (state.role === "unknown") postRole = "unknown";
  }
  const keep = (page: GraphMessage[]) => (postRole ? page.filter((m) => roleOf(tree, m) === postRole) : page);

  if (state.search !== undefined) {
    // No `$filter`, no `$orderby`: Graph refuses both beside `$search` and ranks the results itself.
    const option = state.cursor.token !== undefined ? pageOption(state.cursor.token) : undefined;
    return {
      path,
      query: {
        $search: graphSearchValue(state.search),
        $top: state.limit,
        ...(option ? { [option.name]: option.value } : {}),
      },
      place: (fetched, nextLink) => {
        const page = fetched.slice(0, state.limit);
        const token = nextLink !== undefined ? pageTokenOf(nextLink) : undefined;
        return { page, emitted: keep(page), cursor: nextSearchCursor(state, token) };
      },
    };
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
  const seen = new Set(state.cursor.seen);
  return {
    path,
    query: {
      $filter: messageFilter(filter),
      $orderby: "receivedDateTime desc",
      $top: Math.min(GRAPH_MAX_TOP, state.limit + seen.size),
    },
    place: (fetched, nextLink) => {
      const fresh = seen.size === 0 ? fetched : fetched.filter((m) => !seen.has(idFingerprint(m.id)));
      const page = fresh.slice(0, state.limit);
      const hasMore = fresh.length > state.limit || nextLink !== undefined;
      return { page, emitted: keep(page), cursor: hasMore ? nextCursor(state, seen, page) : null };
    },
  };
}
