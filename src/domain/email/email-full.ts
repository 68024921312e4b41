// A full email (`GET /api/v1/emails/{id}`) from Graph's message: the fields each read selects, the
// mapping, and a read of many messages of one account in `$batch` requests (reference §3.9: up to 20
// per request), which the realtime sync uses to announce a round's new mail.
import { AppError } from "../../lib/errors.ts";
import { type GraphClient, stepError } from "../../providers/microsoft/graph-client.ts";
import {
  type GraphAttachment,
  type GraphMessage,
  MESSAGE_META_FIELDS,
} from "../../providers/microsoft/graph-types.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { EmailObject, FolderRole } from "./email.types.ts";
import type { FolderTree } from "./folder-directory.ts";
import { htmlToText } from "./html-to-text.ts";
import { toEmail } from "./mappers.ts";

const ATTACHMENT_FIELDS = "id,name,contentType,size,isInline,contentId";
/** Attachment metadata rides on the message request (Graph v1.0: `attachments` is a navigation property of message). */
export const EXPAND_ATTACHMENTS = `attachments($select=${ATTACHMENT_FIELDS})`;
/** `changeKey` proves a cached email current (docs/adr/0008-email-cache.md). */
export const SELECT_META = `${MESSAGE_META_FIELDS.join(",")},changeKey`;
export const SELECT_FULL = `${SELECT_META},body`;
export const SELECT_FULL_HEADERS = `${SELECT_FULL},internetMessageHeaders`;

export function fullEmail(
  account: AccountRow,
  tree: FolderTree,
  message: GraphMessage & { attachments?: GraphAttachment[] | null },
  full: boolean,
  includeHeaders: boolean | undefined,
): EmailObject {
  const html = full ? (message.body?.content ?? "") : "";
  return toEmail(message, {
    accountId: account.id,
    mailbox: account.email,
    kind: full ? "2_full" : "1_meta",
    folder: folderInfo(tree, message),
    bodyHtml: html,
    bodyPlain: full ? htmlToText(html) : "",
    attachments: full ? (message.attachments ?? []) : [],
    includeHeaders: includeHeaders === true,
  });
}

export function folderInfo(
  tree: FolderTree,
  message: GraphMessage,
): { name: string; role: FolderRole } | undefined {
  const entry = message.parentFolderId ? tree.byId.get(message.parentFolderId) : undefined;
  return entry ? { name: entry.folder.displayName ?? "", role: entry.role } : undefined;
}

/**
 * The full emails of these messages of one account, as `get` returns each, read in `$batch` requests
 * of up to 20 GETs. A message that is gone (404) is left out of the map; any other failed step
 * throws as the single GET would.
 */
export async function emailsByGraphId(
  deps: { graph: GraphClient; folders: { tree(accountId: string): Promise<FolderTree> } },
  account: AccountRow,
  graphIds: readonly string[],
): Promise<Map<string, EmailObject>> {
  const unique = [...new Set(graphIds)];
  const [results, tree] = await Promise.all([
    deps.graph.batch(
      account.id,
      unique.map((graphId, index) => ({
        id: String(index),
        path: `/me/messages/${graphId}`,
        query: { $select: SELECT_FULL, $expand: EXPAND_ATTACHMENTS },
        bodyType: "html" as const,
      })),
    ),
    deps.folders.tree(account.id),
  ]);
  const emails = new Map<string, EmailObject>();
  unique.forEach((graphId, index) => {
    const result = results.get(String(index));
    if (!result) throw new AppError("provider_error", { detail: "A $batch step had no answer." });
    if (result.status === 404) return;
    if (result.status >= 400) throw stepError(result);
    emails.set(graphId, fullEmail(account, tree, result.body as GraphMessage, true, false));
  });
  return emails;
}
