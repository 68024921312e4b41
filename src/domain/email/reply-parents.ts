// `in_reply_to: {message_id, id}` of an email (reference unipile §3.9: the In-Reply-To header
// resolved to a known message; omitted when unknown). Graph v1.0 has no inReplyTo on message: the
// header is PidTagInReplyToId, read through `singleValueExtendedProperties`. The parent is found by
// `internetMessageId`: on the same page first, then with one filtered Graph query for the rest.
import type { Logger } from "../../lib/logger.ts";
import { extendedProperty, IN_REPLY_TO_PROPERTY } from "../../providers/microsoft/extended-properties.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import type { GraphMessage } from "../../providers/microsoft/graph-types.ts";
import { odataString } from "../../providers/microsoft/odata.ts";

/** A filter's length before the lookup is split (Graph's front end refuses URLs over 16 KB). */
const MAX_FILTER_CHARS = 6000;
/** Parents remembered per process (about 200 bytes each). */
const MAX_KNOWN_PARENTS = 20_000;

/** How long a parent not found is not asked for again (one may arrive later, rarely after its reply). */
const NOT_FOUND_MS = 5 * 60_000;

/**
 * Parents looked up before, by account and internetMessageId: an immutable id does not change, so a
 * reply read again (a cache miss, another page) needs no lookup; a parent not in the mailbox is not
 * asked for again for a few minutes (mail from outside threads is common).
 */
export class KnownParents {
  private readonly known = new Map<string, { graphId: string } | { notFoundUntil: number }>();

  constructor(private readonly now: () => number) {}

  /** The parent's Graph id; null when recently not found; undefined when unknown. */
  get(accountId: string, messageId: string): string | null | undefined {
    const key = `${accountId}\n${messageId}`;
    const entry = this.known.get(key);
    if (entry === undefined) return undefined;
    if ("notFoundUntil" in entry) {
      if (entry.notFoundUntil > this.now()) return null;
      this.known.delete(key);
      return undefined;
    }
    this.known.delete(key);
    this.known.set(key, entry);
    return entry.graphId;
  }

  set(accountId: string, messageId: string, graphId: string | null): void {
    const key = `${accountId}\n${messageId}`;
    this.known.delete(key);
    this.known.set(key, graphId === null ? { notFoundUntil: this.now() + NOT_FOUND_MS } : { graphId });
    if (this.known.size > MAX_KNOWN_PARENTS) this.known.delete(this.known.keys().next().value!);
  }
}

export interface ReplyParents {
  /** In-Reply-To value → the parent's Graph id, for parents found in the mailbox. */
  byMessageId: Map<string, string>;
  /** False when a lookup failed: the emails mapped from it must not be cached. */
  complete: boolean;
}

/** The message's In-Reply-To (PidTagInReplyToId), when it has one. */
export function inReplyToOf(message: GraphMessage): string | undefined {
  const value = extendedProperty(message, IN_REPLY_TO_PROPERTY)?.trim();
  return value ? value : undefined;
}

export async function findReplyParents(
  deps: { graph: GraphClient; log: Logger; knownParents: KnownParents },
  accountId: string,
  replies: readonly GraphMessage[],
  page: readonly GraphMessage[],
): Promise<ReplyParents> {
  const byMessageId = new Map<string, string>();
  const wanted = new Set<string>();
  for (const message of replies) {
    const parent = inReplyToOf(message);
    if (parent !== undefined) wanted.add(parent);
  }
  if (wanted.size === 0) return { byMessageId, complete: true };
  for (const message of page)
    if (message.internetMessageId && wanted.has(message.internetMessageId)) {
      byMessageId.set(message.internetMessageId, message.id);
      wanted.delete(message.internetMessageId);
    }
  for (const messageId of wanted) {
    const graphId = deps.knownParents.get(accountId, messageId);
    if (graphId !== undefined) {
      if (graphId !== null) byMessageId.set(messageId, graphId);
      wanted.delete(messageId);
    }
  }
  if (wanted.size === 0) return { byMessageId, complete: true };

  const filters: { clause: string; count: number }[] = [];
  for (const messageId of wanted) {
    const term = `internetMessageId eq ${odataString(messageId)}`;
    const last = filters.at(-1);
    if (last && last.clause.length + term.length + 4 <= MAX_FILTER_CHARS) {
      last.clause += ` or ${term}`;
      last.count++;
    } else filters.push({ clause: term, count: 1 });
  }
  try {
    const pages = await Promise.all(
      filters.map((filter) =>
        deps.graph.json<{ value?: { id: string; internetMessageId?: string | null }[] }>(accountId, {
          path: "/me/messages",
          // A few copies of one message may exist (e.g. mail to oneself): any is the parent.
          query: {
            $filter: filter.clause,
            $select: "id,internetMessageId",
            $top: Math.min(1000, filter.count * 4),
          },
        }),
      ),
    );
    for (const found of pages)
      for (const message of found.value ?? [])
        if (message.internetMessageId && !byMessageId.has(message.internetMessageId)) {
          byMessageId.set(message.internetMessageId, message.id);
          deps.knownParents.set(accountId, message.internetMessageId, message.id);
        }
    for (const messageId of wanted)
      if (!byMessageId.has(messageId)) deps.knownParents.set(accountId, messageId, null);
    return { byMessageId, complete: true };
  } catch (error) {
    deps.log.warn({ accountId, err: error }, "could not resolve the parents of replies");
    return { byMessageId, complete: false };
  }
}
