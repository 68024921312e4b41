// KQL-style `$search` on messages (reference §3.3; Graph "Use the $search query parameter"): the
// value in double quotes, default fields from/subject/body, `field:value` terms, `\"phrases\"`, OR
// groups, negation. Results are sorted by sent date, newest first, capped at 1,000, and paged with
// an opaque `$skiptoken` in `@odata.nextLink`.
import { badRequest, GRAPH_MESSAGES, GraphError } from "./errors.ts";
import type { EmailAddress, MessageRecord } from "./mailbox-store.ts";
import { bodyText } from "./message-values.ts";

type SearchTerm = { field: string | null; value: string; negate: boolean };
export type SearchQuery = SearchTerm[][]; // OR of AND-groups

export function parseSearch(raw: string): SearchQuery {
  const trimmed = raw.trim();
  if (trimmed.length < 2 || !trimmed.startsWith('"') || !trimmed.endsWith('"')) {
    throw badRequest("Syntax error: the $search value must be enclosed in double quotes.");
  }
  const inner = trimmed.slice(1, -1);
  // Inside the outer quotes a phrase is delimited by escaped quotes; a bare or unpaired one is a
  // syntax error, as KQL's parser reports it.
  const escaped = inner.match(/\\"/g)?.length ?? 0;
  const bare = (inner.match(/"/g)?.length ?? 0) - escaped;
  if (bare > 0 || escaped % 2 !== 0)
    throw badRequest("Syntax error: unbalanced quotes in the $search value.");
  if (inner.trim() === "") throw badRequest("Syntax error: the $search value is empty.");
  const groups: SearchQuery = [[]];
  const pattern = /(-?)(?:([A-Za-z]+):)?(?:'([^']*)'|\\"([^"]*)\\"|(\S+))/g;
  for (const match of inner.matchAll(pattern)) {
    const value = match[3] ?? match[4] ?? match[5] ?? "";
    if (!match[2] && value === "OR") {
      groups.push([]);
      continue;
    }
    if (!match[2] && value === "AND") continue;
    groups[groups.length - 1]!.push({
      field: match[2]?.toLowerCase() ?? null,
      value: value.toLowerCase(),
      negate: match[1] === "-",
    });
  }
  return groups.filter((group) => group.length > 0);
}

function addressText(addresses: (EmailAddress | null)[]): string {
  return addresses
    .filter((address): address is EmailAddress => address !== null)
    .map((address) => `${address.name} ${address.address}`)
    .join(" ")
    .toLowerCase();
}

function termMatches(term: SearchTerm, message: MessageRecord): boolean {
  const { value } = term;
  switch (term.field) {
    case "from":
      return addressText([message.from]).includes(value);
    case "to":
      return addressText(message.toRecipients).includes(value);
    case "cc":
      return addressText(message.ccRecipients).includes(value);
    case "bcc":
      return addressText(message.bccRecipients).includes(value);
    case "participants":
    case "recipients":
      return addressText([
        message.from,
        ...message.toRecipients,
        ...message.ccRecipients,
        ...message.bccRecipients,
      ]).includes(value);
    case "subject":
      return message.subject.toLowerCase().includes(value);
    case "body":
      return bodyText(message).includes(value);
    case "attachment":
    case "attachmentnames":
      return message.attachments.some((attachment) => attachment.name.toLowerCase().includes(value));
    case "hasattachment":
    case "hasattachments":
      return message.attachments.some((attachment) => !attachment.isInline) === (value === "true");
    case "isread":
      return message.isRead === (value === "true");
    case "received":
    case "sent": {
      const at = term.field === "received" ? message.receivedAt : (message.sentAt ?? 0);
      const range = /^(>=|<=|>|<)?(\d{4}-\d{2}-\d{2})$/.exec(value);
      if (!range) return false;
      const day = Date.parse(`${range[2]}T00:00:00Z`);
      const op = range[1] ?? "=";
      if (op === ">=") return at >= day;
      if (op === ">") return at >= day + 86_400_000;
      if (op === "<=") return at < day + 86_400_000;
      if (op === "<") return at < day;
      return at >= day && at < day + 86_400_000;
    }
    case null:
      return (
        message.subject.toLowerCase().includes(value) ||
        addressText([message.from]).includes(value) ||
        bodyText(message).includes(value)
      );
    default:
      return false;
  }
}

export function matchesSearch(query: SearchQuery, message: MessageRecord): boolean {
  return query.some((group) => group.every((term) => termMatches(term, message) !== term.negate));
}

/** Graph returns at most this many messages for one `$search`, over all its pages. */
export const SEARCH_RESULT_LIMIT = 1000;

/**
 * The options Graph refuses beside `$search` on messages: `$orderby` (results come sorted by sent
 * date) and `$filter`.
 */
export function assertSearchable(hasFilter: boolean, hasOrder: boolean): void {
  if (hasOrder) throw new GraphError(400, "SearchWithOrderBy", GRAPH_MESSAGES.searchWithOrderBy);
  if (hasFilter) throw badRequest(GRAPH_MESSAGES.searchWithFilter);
}

/** The messages a search finds, in Graph's order (newest sent first), at most SEARCH_RESULT_LIMIT. */
export function searchMessages(query: SearchQuery, source: readonly MessageRecord[]): MessageRecord[] {
  return source
    .filter((message) => matchesSearch(query, message))
    .sort((a, b) => (b.sentAt ?? b.receivedAt) - (a.sentAt ?? a.receivedAt) || b.ord - a.ord)
    .slice(0, SEARCH_RESULT_LIMIT);
}

/** A search's `$skiptoken`: opaque to clients, here the offset of the next page. */
export function encodeSearchSkipToken(offset: number): string {
  return Buffer.from(`search:${offset}`).toString("base64url");
}

export function decodeSearchSkipToken(token: string): number {
  const match = /^search:(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  const offset = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(offset)) throw badRequest("The $skiptoken value is not valid.");
  return offset;
}
