// One Graph message of an account → Unipile's email: the folder it is in (from the folder tree),
// the body derived as text, Mailroom's sent mark (origin, tracking_id) and the resolved parent of
// a reply (in_reply_to).
import { extendedProperty, SENT_MARK_PROPERTY } from "../../providers/microsoft/extended-properties.ts";
import type { GraphAttachment, GraphMessage } from "../../providers/microsoft/graph-types.ts";
import type { AccountRow } from "../../storage/repositories/account.repository.ts";
import type { EmailObject, FolderRole } from "./email.types.ts";
import type { FolderTree } from "./folder-directory.ts";
import { htmlToText } from "./html-to-text.ts";
import { toEmail } from "./mappers.ts";
import { inReplyToOf, type ReplyParents } from "./reply-parents.ts";
import { readSentMark } from "./sent-mark.ts";

export function mapMessage(
  account: AccountRow,
  tree: FolderTree,
  message: GraphMessage & { attachments?: GraphAttachment[] | null },
  options: { full: boolean; includeHeaders: boolean | undefined; parents: ReplyParents },
): EmailObject {
  const { full } = options;
  const html = full ? (message.body?.content ?? "") : "";
  const inReplyTo = inReplyToOf(message);
  const parentId = inReplyTo !== undefined ? options.parents.byMessageId.get(inReplyTo) : undefined;
  return toEmail(message, {
    accountId: account.id,
    mailbox: account.email,
    kind: full ? "2_full" : "1_meta",
    folder: folderInfo(tree, message),
    bodyHtml: html,
    bodyPlain: full ? htmlToText(html) : "",
    attachments: full ? (message.attachments ?? []) : [],
    includeHeaders: options.includeHeaders === true,
    trackingId: readSentMark(account.email, extendedProperty(message, SENT_MARK_PROPERTY)),
    inReplyTo:
      inReplyTo !== undefined && parentId !== undefined
        ? { messageId: inReplyTo, graphId: parentId }
        : undefined,
  });
}

export function folderInfo(
  tree: FolderTree,
  message: GraphMessage,
): { name: string; role: FolderRole } | undefined {
  const entry = message.parentFolderId ? tree.byId.get(message.parentFolderId) : undefined;
  return entry ? { name: entry.folder.displayName ?? "", role: entry.role } : undefined;
}

export function roleOf(tree: FolderTree, message: GraphMessage): FolderRole {
  return folderInfo(tree, message)?.role ?? "unknown";
}
