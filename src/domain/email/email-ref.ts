// Resolving an email named by its RFC 822 Message-ID (email-ids.ts `parseEmailRef`) to its Graph id:
// one filtered query on `internetMessageId` (as reply-parents.ts does for In-Reply-To). A Message-ID
// that names no message, or several (a copy, mail sent to oneself), names none: 404.
import { AppError } from "../../lib/errors.ts";
import type { GraphClient } from "../../providers/microsoft/graph-client.ts";
import { odataString } from "../../providers/microsoft/odata.ts";

export type MessageIdMatch = { graphId: string } | { count: 0 | 2 };

/** The one message with this internetMessageId, or how many there are (0, or 2 for "more than one"). */
export async function findByMessageId(
  graph: GraphClient,
  accountId: string,
  messageId: string,
): Promise<MessageIdMatch> {
  const page = await graph.json<{ value?: { id: string }[] }>(accountId, {
    path: "/me/messages",
    query: { $filter: `internetMessageId eq ${odataString(messageId)}`, $select: "id", $top: 2 },
  });
  const found = page.value ?? [];
  if (found.length === 1) return { graphId: found[0]!.id };
  return { count: found.length === 0 ? 0 : 2 };
}

/** Why a Message-ID resolved to nothing, in words for `detail`. */
export function unresolvedDetail(label: string, messageId: string, match: { count: 0 | 2 }): string {
  return match.count === 0
    ? `${label} ${messageId} not found in this account`
    : `${label} ${messageId} names more than one message in this account (copies of one message); use its id or provider_id`;
}

/** The Graph id of the one message with this Message-ID, or a 404 `resource_not_found`. */
export async function resolveMessageId(
  graph: GraphClient,
  accountId: string,
  messageId: string,
  label = "Email",
): Promise<string> {
  const match = await findByMessageId(graph, accountId, messageId);
  if ("graphId" in match) return match.graphId;
  throw new AppError("resource_not_found", { detail: unresolvedDetail(label, messageId, match) });
}
