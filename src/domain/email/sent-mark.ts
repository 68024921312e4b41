// What Mailroom writes on the mail it sends (`SENT_MARK_PROPERTY`), so `origin: "unipile"` and
// `tracking_id` are read from the message itself: they survive moves, restarts and the sent-mail
// log's retention. The mark names the mailbox that sent it: a copy that reached another mailbox
// with the property (Exchange can keep MAPI properties between mailboxes of one organisation) is
// not mail that mailbox sent through the API.
import { createHash } from "node:crypto";

const VERSION = "v1";

function mailboxTag(mailbox: string): string {
  return createHash("sha256").update(mailbox.trim().toLowerCase(), "utf8").digest("base64url").slice(0, 16);
}

export function sentMark(mailbox: string, trackingId: string): string {
  return `${VERSION}.${trackingId}.${mailboxTag(mailbox)}`;
}

/** The tracking id of a mark written for this mailbox; undefined for anything else. */
export function readSentMark(mailbox: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const [version, trackingId, tag, ...rest] = value.split(".");
  if (version !== VERSION || rest.length > 0 || !trackingId || !/^[A-Za-z0-9_-]+$/.test(trackingId))
    return undefined;
  return tag === mailboxTag(mailbox) ? trackingId : undefined;
}
