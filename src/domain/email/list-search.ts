// Full-text search on GET /api/v1/emails (docs/search.md): Unipile's newer `search` parameter becomes
// Graph's `$search` (reference microsoft §3.3, Graph "Use the $search query parameter"). Pure rules:
// which inputs a search accepts, which list filters Microsoft refuses beside it, and how the text
// becomes a Graph `$search` value.
import { AppError } from "../../lib/errors.ts";

/**
 * Graph documents no length limit for a message `$search`; KQL built programmatically is limited to
 * 4,096 characters by default (KQL syntax reference). A longer search is a 400 here, not a Graph error.
 */
export const MAX_SEARCH_CHARS = 4096;

/** Graph returns at most this many messages for one `$search`, over all its pages. */
export const SEARCH_RESULT_CAP = 1000;

/**
 * List filters that become a Graph `$filter` (or `$orderby`, which every keyset page sends), which
 * Graph refuses beside `$search` ("The query parameter '$filter' is not supported with '$search'",
 * SearchWithOrderBy). Unipile refuses the same ones for Microsoft (reference unipile §2.1.1).
 * `folder` and the folder roles combine: they choose the path searched, not a filter.
 */
const FILTERS_REFUSED = ["from", "to", "any_email", "before", "after", "thread_id", "message_id"] as const;
/** Roles that Mailroom answers with a `$filter` clause rather than a folder. */
const ROLES_REFUSED = new Set(["starred", "important"]);

/** The list parameters (by name, `role=…` with its value) that cannot go with `search`. */
export function refusedWithSearch(filters: Record<string, unknown>): string[] {
  const refused: string[] = FILTERS_REFUSED.filter((name) => filters[name] !== undefined);
  if (typeof filters.role === "string" && ROLES_REFUSED.has(filters.role))
    refused.push(`role=${filters.role}`);
  return refused;
}

/**
 * Checks a search text from a request or a decoded cursor: not blank, within MAX_SEARCH_CHARS, with
 * balanced double quotes (a phrase is `"…"`; an unpaired quote is a KQL syntax error at Microsoft).
 */
export function checkSearch(search: string, field = "search"): void {
  if (search.trim() === "")
    throw new AppError("invalid_parameters", { detail: `${field}: must not be blank` });
  if (search.length > MAX_SEARCH_CHARS)
    throw new AppError("too_many_characters", {
      detail: `${field}: at most ${MAX_SEARCH_CHARS} characters (got ${search.length})`,
    });
  const quotes = search.match(/"/g)?.length ?? 0;
  if (quotes % 2 !== 0)
    throw new AppError("invalid_parameters", {
      detail: `${field}: unbalanced double quotes (a phrase is written "like this")`,
    });
}

/** The whole search must be in double quotes in Graph's `$search`; quotes inside are escaped. */
export function graphSearchValue(search: string): string {
  return `"${search.trim().replace(/"/g, '\\"')}"`;
}

/** Graph pages a search with `$skiptoken` in `@odata.nextLink`; a cursor carries that option. */
export function pageTokenOf(nextLink: string): string | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(nextLink).searchParams;
  } catch {
    return undefined;
  }
  const skipToken = params.get("$skiptoken");
  if (skipToken !== null) return `$skiptoken=${skipToken}`;
  const skip = params.get("$skip");
  if (skip !== null && /^\d+$/.test(skip)) return `$skip=${skip}`;
  return undefined;
}

/** The query option a cursor's page token stands for; undefined for anything Mailroom did not write. */
export function pageOption(token: string): { name: "$skiptoken" | "$skip"; value: string } | undefined {
  const match = /^(\$skiptoken|\$skip)=(.{1,2048})$/s.exec(token);
  if (!match) return undefined;
  const name = match[1] as "$skiptoken" | "$skip";
  if (name === "$skip" && !/^\d+$/.test(match[2]!)) return undefined;
  return { name, value: match[2]! };
}
