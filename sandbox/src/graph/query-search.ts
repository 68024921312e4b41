// KQL-style `$search` on messages: quoted query, field:value terms, OR groups, negation
// (reference §3.3).
import { badRequest } from "./errors.ts";
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
