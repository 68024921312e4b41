// Graph message/folder → Unipile email/folder objects (reference unipile-api-v1.md §3.9). Pure
// functions: the SDK's validators decide what is allowed (no `null` except read_date, dates with
// milliseconds and `Z`, attendees with identifier_type EMAIL_ADDRESS).

import type {
  GraphAttachment,
  GraphFolder,
  GraphMessage,
  GraphRecipient,
} from "../../providers/microsoft/graph-types.ts";
import type { Attendee, EmailObject, FolderObject, FolderRole, MailAttachment } from "./email.types.ts";
import { encodeProviderId, mailroomId } from "./email-ids.ts";

export interface FolderInfo {
  name: string;
  role: FolderRole;
}

export interface MessageContext {
  accountId: string;
  /** The mailbox address, for drafts that have no `from` yet. */
  mailbox: string;
  kind: "1_meta" | "2_full";
  folder: FolderInfo | undefined;
  bodyHtml?: string;
  bodyPlain?: string;
  attachments?: GraphAttachment[];
  includeHeaders?: boolean;
  /** Set when the message carries Mailroom's sent mark for this mailbox: sent through the API. */
  trackingId?: string | undefined;
  /** The message's In-Reply-To and the parent's Graph id, when the parent is in the mailbox. */
  inReplyTo?: { messageId: string; graphId: string } | undefined;
}

export function isoMs(value: string | null | undefined, fallback = 0): string {
  const ms = value ? Date.parse(value) : Number.NaN;
  return new Date(Number.isFinite(ms) ? ms : fallback).toISOString();
}

export function attendee(recipient: GraphRecipient | null | undefined): Attendee | undefined {
  const address = recipient?.emailAddress?.address ?? "";
  const name = recipient?.emailAddress?.name ?? "";
  if (!address && !name) return undefined;
  return {
    ...(name ? { display_name: name } : {}),
    identifier: address || name,
    identifier_type: "EMAIL_ADDRESS",
  };
}

function attendees(list: GraphRecipient[] | null | undefined): Attendee[] {
  return (list ?? []).map(attendee).filter((a): a is Attendee => a !== undefined);
}

export function toAttachment(attachment: GraphAttachment): MailAttachment {
  const name = attachment.name ?? "";
  const dot = name.lastIndexOf(".");
  return {
    id: encodeProviderId(attachment.id),
    name,
    size: attachment.size ?? 0,
    extension: dot > 0 ? name.slice(dot + 1).toLowerCase() : "",
    mime: attachment.contentType || "application/octet-stream",
    ...(attachment.contentId ? { cid: attachment.contentId.replace(/^<|>$/g, "") } : {}),
  };
}

export function toEmail(message: GraphMessage, ctx: MessageContext): EmailObject {
  const id = mailroomId(ctx.accountId, message.id);
  const role = ctx.folder?.role ?? "unknown";
  // Sent items are dated by when they left; everything else by when Exchange received it (§3.9).
  const date = isoMs(
    role === "sent" ? (message.sentDateTime ?? message.receivedDateTime) : message.receivedDateTime,
  );
  const email: EmailObject = {
    object: "Email",
    id,
    deprecated_id: id,
    kind: ctx.kind,
    account_id: ctx.accountId,
    type: "OUTLOOK",
    date,
    role,
    folders: ctx.folder ? [ctx.folder.name] : [],
    folderIds: message.parentFolderId ? [mailroomId(ctx.accountId, message.parentFolderId)] : [],
    // Graph keeps no read time; a read message reports its receipt time, an unread one null.
    read_date: message.isRead ? date : null,
    message_id: message.internetMessageId ?? "",
    provider_id: encodeProviderId(message.id),
    from_attendee: attendee(message.from) ??
      attendee(message.sender) ?? { identifier: ctx.mailbox, identifier_type: "EMAIL_ADDRESS" },
    to_attendees: attendees(message.toRecipients),
    cc_attendees: attendees(message.ccRecipients),
    bcc_attendees: attendees(message.bccRecipients),
    reply_to_attendees: attendees(message.replyTo),
    subject: message.subject ?? "",
    has_attachments: message.hasAttachments ?? false,
    origin: ctx.trackingId !== undefined ? "unipile" : "external",
    attachments: ctx.kind === "2_full" ? (ctx.attachments ?? []).map(toAttachment) : [],
    body: ctx.kind === "2_full" ? (ctx.bodyHtml ?? "") : "",
    body_plain: ctx.kind === "2_full" ? (ctx.bodyPlain ?? "") : "",
  };
  if (ctx.inReplyTo)
    email.in_reply_to = {
      message_id: ctx.inReplyTo.messageId,
      id: mailroomId(ctx.accountId, ctx.inReplyTo.graphId),
    };
  if (ctx.trackingId !== undefined) email.tracking_id = ctx.trackingId;
  if (message.conversationId) email.thread_id = message.conversationId;
  if (ctx.kind === "2_full" && ctx.includeHeaders)
    email.headers = (message.internetMessageHeaders ?? []).map((h) => ({ name: h.name, value: h.value }));
  return email;
}

export function toFolder(accountId: string, folder: GraphFolder, role: FolderRole): FolderObject {
  return {
    object: "Folder",
    id: mailroomId(accountId, folder.id),
    name: folder.displayName ?? "",
    account_id: accountId,
    role,
    nb_mails: folder.totalItemCount ?? 0,
    provider_id: encodeProviderId(folder.id),
  };
}
