// Mail events as the webhook outbox receives them (unipile reference §3.3): a stable id per
// (account, immutable message id, event, folder[, move number]) so every replay of a sync — after a
// crash, a duplicate notification, Graph's created+updated bursts — publishes the same id, which
// the outbox dedupes. Pure functions.
import { createHash } from "node:crypto";
import type { EmailObject, FolderRole } from "../email/email.types.ts";

export type MailEventType = "mail_received" | "mail_sent" | "mail_moved";

/** The SHA-256 (base64url) of an immutable id: the message index key. */
export function messageKey(graphId: string): string {
  return createHash("sha256").update(graphId, "utf8").digest("base64url");
}

export function mailEventId(parts: {
  accountId: string;
  graphId: string;
  type: MailEventType;
  folderId: string;
  /** mail_moved only: the how-many-th move of this message, so each move is its own event. */
  move?: number;
}): string {
  const material = [parts.accountId, parts.graphId, parts.type, parts.folderId, String(parts.move ?? 0)];
  const hash = createHash("sha256").update(material.join("\n"), "utf8").digest("base64url");
  return `mr_${parts.type}_${hash}`;
}

/** What a new or moved message is, from the roles of where it was and where it is now. */
export function classify(
  previousRole: FolderRole | undefined,
  currentRole: FolderRole,
): MailEventType | undefined {
  if (previousRole === undefined) {
    if (currentRole === "drafts") return undefined;
    return currentRole === "sent" ? "mail_sent" : "mail_received";
  }
  // A draft that was sent keeps its immutable id and lands in Sent Items (reference §3.7).
  if (currentRole === "sent" && previousRole === "drafts") return "mail_sent";
  return "mail_moved";
}

/**
 * The email part of the payload in the documented key order (`account_id`, `event` and
 * `webhook_name` are set per webhook by the outbox). Built from the email API's object, so ids,
 * attendees and dates are exactly what `GET /api/v1/emails/{id}` returns.
 */
export function mailPayload(
  email: EmailObject,
  extra: { origin: "unipile" | "external"; trackingId?: string | undefined },
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    email_id: email.id,
    date: email.date,
    from_attendee: email.from_attendee,
    to_attendees: email.to_attendees ?? [],
    bcc_attendees: email.bcc_attendees ?? [],
    cc_attendees: email.cc_attendees ?? [],
    reply_to_attendees: email.reply_to_attendees ?? [],
    provider_id: email.provider_id,
    message_id: email.message_id,
    has_attachments: email.has_attachments ?? false,
    subject: email.subject ?? "",
    body: email.body ?? "",
    body_plain: email.body_plain ?? "",
    attachments: email.attachments ?? [],
    folders: email.folders,
    role: email.role,
    read_date: email.read_date,
    is_complete: true,
  };
  // The parent of a reply, as the email API resolves it (omitted when it is not in the mailbox).
  if (email.in_reply_to !== undefined) payload.in_reply_to = email.in_reply_to;
  // Mail sent through the API carries the send's tracking_id (reference §3.3, §3.9), before origin.
  if (extra.trackingId !== undefined) payload.tracking_id = extra.trackingId;
  payload.origin = extra.origin;
  if (email.thread_id !== undefined) payload.thread_id = email.thread_id;
  return payload;
}
