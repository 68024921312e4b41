// What each read of a message asks Graph for, and a read of many emails of one account in `$batch`
// requests (reference §3.9: up to 20 per request), which realtime uses to announce a round's new
// mail. Mapping one message is message-mapping.ts's.
import { AppError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { EXPAND_MARKS } from "../../providers/microsoft/extended-properties.ts";
import { type GraphClient, stepError } from "../../providers/microsoft/graph-client.ts";
import {
  type GraphAttachment,
  type GraphMessage,
  MESSAGE_META_FIELDS,
} from "../../providers/microsoft/graph-types.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { EmailObject } from "./email.types.ts";
import type { FolderTree } from "./folder-directory.ts";
import { mapMessage } from "./message-mapping.ts";
import { findReplyParents, type KnownParents } from "./reply-parents.ts";

const ATTACHMENT_FIELDS = "id,name,contentType,size,isInline,contentId";
/** Attachment metadata rides on the message request (Graph v1.0: `attachments` is a navigation property of message). */
export const EXPAND_ATTACHMENTS = `attachments($select=${ATTACHMENT_FIELDS})`;
/**
 * Full reads also expand Mailroom's sent mark and In-Reply-To (extended-properties.ts); meta reads
 * only those. Both are set when a message is created and never change, so they do not disturb the
 * email cache's versions.
 */
export const EXPAND_FULL = `${EXPAND_ATTACHMENTS},${EXPAND_MARKS}`;
/** `changeKey` proves a cached email current (docs/adr/0008-email-cache.md). */
export const SELECT_META = `${MESSAGE_META_FIELDS.join(",")},changeKey`;
export const SELECT_FULL = `${SELECT_META},body`;
export const SELECT_FULL_HEADERS = `${SELECT_FULL},internetMessageHeaders`;

export type FullMessage = GraphMessage & { attachments?: GraphAttachment[] | null };

/**
 * These messages of one account as a full read selects them, in `$batch` requests of up to 20 GETs.
 * A message that is gone (404) is left out of the map; any other failed step throws as the single
 * GET would.
 */
export async function messagesByGraphId(
  graph: GraphClient,
  accountId: string,
  graphIds: readonly string[],
): Promise<Map<string, FullMessage>> {
  const unique = [...new Set(graphIds)];
  const results = await graph.batch(
    accountId,
    unique.map((graphId, index) => ({
      id: String(index),
      path: `/me/messages/${graphId}`,
      query: { $select: SELECT_FULL, $expand: EXPAND_FULL },
      bodyType: "html" as const,
    })),
  );
  const messages = new Map<string, FullMessage>();
  unique.forEach((graphId, index) => {
    const result = results.get(String(index));
    if (!result) throw new AppError("provider_error", { detail: "A $batch step had no answer." });
    if (result.status === 404) return;
    if (result.status >= 400) throw stepError(result);
    messages.set(graphId, result.body as FullMessage);
  });
  return messages;
}

/**
 * The full emails of these messages of one account, as a single read maps each (sent mark, resolved
 * reply parents). Gone messages are left out.
 */
export async function emailsByGraphId(
  deps: {
    folders: { tree(accountId: string): Promise<FolderTree> };
    parents: { graph: GraphClient; log: Logger; knownParents: KnownParents };
  },
  account: AccountRow,
  graphIds: readonly string[],
): Promise<Map<string, EmailObject>> {
  const [messages, tree] = await Promise.all([
    messagesByGraphId(deps.parents.graph, account.id, graphIds),
    deps.folders.tree(account.id),
  ]);
  const found = [...messages.values()];
  const parents = await findReplyParents(deps.parents, account.id, found, found);
  const emails = new Map<string, EmailObject>();
  for (const [graphId, message] of messages)
    emails.set(graphId, mapMessage(account, tree, message, { full: true, includeHeaders: false, parents }));
  return emails;
}
