// The list's keyset cursor (reference unipile §2.1.1): the request's filters and position, carried in
// an opaque standard-base64 cursor so a walk to the end visits every message once while mail arrives.
import { AppError } from "../../lib/errors.ts";
import type { GraphMessage } from "../../providers/microsoft/graph-types.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import type { FolderRole } from "./email.types.ts";
import { idFingerprint } from "./email-ids.ts";
import { checkCursorState, checkListFilters, checkSearchQuery } from "./list-filters.ts";

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
  /** Full-text search (Graph `$search`, docs/search.md); pages by Graph's token, not by keyset. */
  search?: string | undefined;
  meta_only?: boolean | undefined;
  include_headers?: boolean | undefined;
}

export interface ListQuery extends ListFilters {
  account_id: string;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface CursorState extends ListFilters {
  account_id: string;
  limit: number;
  /** Mirrors the SDK's MailListDecodedCursorSchema; `seen` = fingerprints of ids already returned at `last_date`'s second. */
  cursor: { last_id: string; last_date: string; seen: string[]; token?: string };
}

/** The state of a list request: decoded from its cursor (filters included), or its own filters. */
export function cursorState(query: ListQuery): CursorState {
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
    return { ...decoded, limit: query.limit ?? decoded.limit };
  }
  const { cursor: _c, limit, ...filters } = query;
  checkListFilters(filters as Record<string, unknown>, "query");
  checkSearchQuery(filters as Record<string, unknown>);
  return {
    ...filters,
    limit: limit ?? 100,
    cursor: { last_id: "", last_date: "", seen: [] },
  };
}

/** Exclusive upper bound for the next page: the second after the cursor's last date, or `before`. */
export function upperBound(state: CursorState): number | undefined {
  const bounds: number[] = [];
  if (state.before) bounds.push(Date.parse(state.before));
  // Graph dates have whole seconds; messages sharing the boundary second are told apart by `seen`.
  if (state.cursor.last_date) bounds.push(Date.parse(state.cursor.last_date) + 1000);
  if (bounds.length === 0) return undefined;
  return Math.min(...bounds);
}

/** The cursor after `page`: its last second, and the ids already returned at that second. */
export function nextCursor(state: CursorState, seen: Set<string>, page: GraphMessage[]): string | null {
  const last = page.at(-1);
  if (!last) return null;
  const lastSecond = secondOf(last.receivedDateTime);
  const carried = lastSecond === state.cursor.last_date ? [...seen] : [];
  // Newest first: the messages of the last second are at the end.
  const atBoundary: GraphMessage[] = [];
  for (let i = page.length - 1; i >= 0 && secondOf(page[i]!.receivedDateTime) === lastSecond; i--)
    atBoundary.unshift(page[i]!);
  const next: CursorState = {
    ...state,
    cursor: {
      last_id: last.id.length > 0 ? idFingerprint(last.id) : "",
      last_date: lastSecond,
      seen: [...carried, ...atBoundary.map((m) => idFingerprint(m.id))],
    },
  };
  return encodeCursor(next as unknown as Record<string, unknown>);
}

/** The whole second a Graph date falls in, as Unipile's date format (for the cursor). */
function secondOf(value: string | null | undefined): string {
  const ms = value ? Date.parse(value) : 0;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** The cursor after a search page: the search's filters and Graph's page token (no keyset). */
export function nextSearchCursor(state: CursorState, token: string | undefined): string | null {
  if (token === undefined) return null;
  const next: CursorState = { ...state, cursor: { last_id: "", last_date: "", seen: [], token } };
  return encodeCursor(next as unknown as Record<string, unknown>);
}
