// Limits on GET /api/v1/emails filters. Every filter becomes part of one Graph `$filter` in the URL,
// and `any_email` four comparisons per address; Microsoft's front end refuses URLs over about 16 KB
// with 414 (docs/errors.md, errors/too_many_characters). These limits keep the largest filter the
// API accepts well under that, so a long filter is a 400 naming the parameter, not a failed Graph call.
import { AppError } from "../../lib/errors.ts";
import { FOLDER_ROLES } from "./email.types.ts";
import { checkSearch, pageOption, refusedWithSearch } from "./list-search.ts";

/** RFC 5321 §4.5.3.1: a path (address) is at most 256 octets; 320 leaves room for a display form. */
export const MAX_ADDRESS_CHARS = 320;
export const MAX_ANY_EMAIL_CHARS = 1024;
export const MAX_ANY_EMAIL_ADDRESSES = 20;
/** Internet message ids and conversation ids: RFC 5322 lines are at most 998 characters. */
export const MAX_ID_FILTER_CHARS = 998;
/** Folder ids (Graph ids are ~150 characters) or names. */
export const MAX_FOLDER_CHARS = 1024;

const TEXT_LIMITS = {
  from: MAX_ADDRESS_CHARS,
  to: MAX_ADDRESS_CHARS,
  any_email: MAX_ANY_EMAIL_CHARS,
  folder: MAX_FOLDER_CHARS,
  thread_id: MAX_ID_FILTER_CHARS,
  message_id: MAX_ID_FILTER_CHARS,
  role: 32,
  before: 64,
  after: 64,
} as const;

/**
 * Checks the filters of a list request or of a decoded cursor (which a client can forge): each text
 * filter a string within its limit, and `any_email` at most MAX_ANY_EMAIL_ADDRESSES addresses.
 */
export function checkListFilters(filters: Record<string, unknown>, where: "query" | "cursor"): void {
  for (const [name, limit] of Object.entries(TEXT_LIMITS)) {
    const value = filters[name];
    if (value === undefined) continue;
    const field = where === "query" ? name : `cursor (${name})`;
    if (typeof value !== "string")
      throw new AppError("invalid_parameters", {
        detail:
          where === "query" ? `${field}: must be a string` : "cursor: not a cursor returned by this endpoint",
      });
    if (value.length > limit)
      throw new AppError("too_many_characters", {
        detail: `${field}: at most ${limit} characters (got ${value.length})`,
      });
  }
  for (const name of ["before", "after"] as const) {
    const value = filters[name];
    // The pattern admits 2024-19-39T99:99:99.999Z; only a real instant can bound a Graph filter.
    if (typeof value === "string" && !Number.isFinite(Date.parse(value)))
      throw new AppError("invalid_parameters", {
        detail:
          where === "query" ? `${name}: not a valid date` : "cursor: not a cursor returned by this endpoint",
      });
  }
  const anyEmail = filters.any_email;
  if (typeof anyEmail === "string") {
    const count = anyEmail.split(",").filter((a) => a.trim()).length;
    if (count > MAX_ANY_EMAIL_ADDRESSES)
      throw new AppError("too_many_characters", {
        detail: `${where === "query" ? "any_email" : "cursor (any_email)"}: at most ${MAX_ANY_EMAIL_ADDRESSES} addresses (got ${count})`,
      });
  }
}

const NOT_A_CURSOR = "cursor: not a cursor returned by this endpoint";

/**
 * A decoded cursor is client input: its paging state must have the types and values Mailroom writes
 * (checked before it reaches a Graph filter), and its filters the limits of checkListFilters.
 */
export function checkCursorState(state: Record<string, unknown>): void {
  const cursor = state.cursor as Record<string, unknown> | null | undefined;
  const fail = () => new AppError("invalid_parameters", { detail: NOT_A_CURSOR });
  if (typeof cursor !== "object" || cursor === null) throw fail();
  if (typeof cursor.last_id !== "string" || typeof cursor.last_date !== "string") throw fail();
  if (cursor.last_date !== "" && !Number.isFinite(Date.parse(cursor.last_date))) throw fail();
  if (!Array.isArray(cursor.seen) || !cursor.seen.every((s) => typeof s === "string")) throw fail();
  const limit = state.limit;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 250) throw fail();
  if (state.role !== undefined && !(FOLDER_ROLES as readonly unknown[]).includes(state.role)) throw fail();
  for (const flag of ["meta_only", "include_headers"])
    if (state[flag] !== undefined && typeof state[flag] !== "boolean") throw fail();
  if (cursor.token !== undefined && (typeof cursor.token !== "string" || !pageOption(cursor.token)))
    throw fail();
  if (state.search !== undefined) {
    if (typeof state.search !== "string" || refusedWithSearch(state).length > 0) throw fail();
    checkSearch(state.search, "cursor (search)");
  } else if (cursor.token !== undefined) throw fail();
  checkListFilters(state, "cursor");
}

/** A search request's own checks: its text, and no filter Microsoft refuses beside `$search`. */
export function checkSearchQuery(filters: Record<string, unknown>): void {
  if (typeof filters.search !== "string") return;
  checkSearch(filters.search);
  const refused = refusedWithSearch(filters);
  if (refused.length > 0)
    throw new AppError("invalid_parameters", {
      detail: `search: cannot be combined with ${refused.join(", ")} on Microsoft accounts (Graph refuses $filter and $orderby beside $search); use folder or role to narrow a search`,
    });
}
