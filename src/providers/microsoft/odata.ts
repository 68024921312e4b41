// OData `$filter` for Graph message listings (reference §3.3). The email API says what it wants in
// plain terms; the Graph syntax, literal quoting and date format live here.

export interface MessageFilter {
  /** Exclusive upper bound on receivedDateTime (epoch ms); without it, every date from the epoch. */
  receivedBefore?: number | undefined;
  /** Exclusive lower bound on receivedDateTime (ISO). */
  receivedAfter?: string | undefined;
  flagged?: boolean | undefined;
  important?: boolean | undefined;
  from?: string | undefined;
  /** In to, cc or bcc. */
  to?: string | undefined;
  /** Sender or any recipient is one of these addresses. */
  anyParty?: string[] | undefined;
  conversationId?: string | undefined;
  internetMessageId?: string | undefined;
}

const EPOCH_FILTER = "1970-01-01T00:00:00Z";

/** The filter's clauses joined with `and`; receivedDateTime leads, as Exchange requires of the `$orderby` property (InefficientFilter). */
export function messageFilter(filter: MessageFilter): string {
  const clauses: string[] = [];
  clauses.push(
    filter.receivedBefore !== undefined
      ? `receivedDateTime lt ${graphDate(new Date(filter.receivedBefore).toISOString())}`
      : `receivedDateTime ge ${EPOCH_FILTER}`,
  );
  if (filter.receivedAfter) clauses.push(`receivedDateTime gt ${graphDate(filter.receivedAfter)}`);
  if (filter.flagged) clauses.push("flag/flagStatus eq 'flagged'");
  if (filter.important) clauses.push("importance eq 'high'");
  if (filter.from) clauses.push(`from/emailAddress/address eq ${odataString(filter.from)}`);
  if (filter.to) clauses.push(`(${recipientClause(filter.to)})`);
  if (filter.anyParty && filter.anyParty.length > 0)
    clauses.push(
      `(${filter.anyParty
        .map((a) => `from/emailAddress/address eq ${odataString(a)} or ${recipientClause(a)}`)
        .join(" or ")})`,
    );
  if (filter.conversationId) clauses.push(`conversationId eq ${odataString(filter.conversationId)}`);
  if (filter.internetMessageId) clauses.push(`internetMessageId eq ${odataString(filter.internetMessageId)}`);
  return clauses.join(" and ");
}

/** OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function recipientClause(address: string): string {
  const literal = odataString(address);
  return ["toRecipients", "ccRecipients", "bccRecipients"]
    .map((field) => `${field}/any(r:r/emailAddress/address eq ${literal})`)
    .join(" or ");
}

/** Graph filter literals: ISO without milliseconds (Graph dates have whole seconds). */
export function graphDate(iso: string): string {
  return `${new Date(Date.parse(iso)).toISOString().slice(0, 19)}Z`;
}
