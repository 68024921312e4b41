// The RFC 5322 message Mailroom hands Graph when a send carries headers Graph's JSON message cannot
// (custom-headers.ts): `POST /me/messages` with the base64 MIME as `text/plain` creates the draft
// (microsoft §3.5; Graph docs "Create message in MIME format"). Built with nodemailer's MailComposer
// from the same fields, and the same final `body`, as the JSON draft, so what the body becomes before
// the draft is built (tracking's rewrite) reaches the MIME unchanged. Attachments are not in it: they
// are added to the draft afterwards like any other (upload sessions from 3 MB), which keeps the
// create request under Graph's 4 MB request limit.
import MailComposer from "nodemailer/lib/mail-composer";
import type { CustomHeader } from "./custom-headers.ts";

export interface MimeAddress {
  address: string;
  name?: string | undefined;
}

/** What a reply's headers need from its parent (createReply sets the same on a JSON draft). */
export interface ReplyParent {
  internetMessageId: string;
  /** The parent's own References, oldest first. */
  references: string[];
  subject: string;
}

export interface MimeDraft {
  from: MimeAddress;
  to: MimeAddress[];
  cc?: MimeAddress[] | undefined;
  bcc?: MimeAddress[] | undefined;
  subject?: string | undefined;
  body: string;
  isHtml: boolean;
  headers: readonly CustomHeader[];
  replyTo?: ReplyParent | undefined;
}

/** RFC 5322 §3.6.4 caps nothing, but Exchange keeps the last references; the parent's id is last. */
const MAX_REFERENCES = 20;

/** `RE: subject` as Outlook's createReply writes it, unless the subject already starts with a reply prefix. */
export function replySubject(subject: string): string {
  return /^\s*re:/i.test(subject) ? subject : `RE: ${subject}`;
}

/** In-Reply-To and References of a reply (RFC 5322 §3.6.4): the parent's references plus its id. */
export function threadingHeaders(parent: ReplyParent): { inReplyTo: string; references: string[] } {
  const references = [...parent.references, parent.internetMessageId].filter(Boolean).slice(-MAX_REFERENCES);
  return { inReplyTo: parent.internetMessageId, references };
}

/** Message-ids in a References/In-Reply-To value, in order. */
export function parseMessageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

const mailbox = (a: MimeAddress) => (a.name ? { name: a.name, address: a.address } : a.address);

/** The message as bytes (CRLF line ends). Bcc is kept: Graph takes the draft's Bcc from it. */
export async function buildMime(draft: MimeDraft): Promise<Buffer> {
  const replyTo = draft.headers
    .filter((h) => h.name.toLowerCase() === "reply-to")
    .map((h) => h.value)
    .join(", ");
  const others = draft.headers.filter((h) => h.name.toLowerCase() !== "reply-to");
  const thread = draft.replyTo ? threadingHeaders(draft.replyTo) : undefined;
  const subject =
    draft.subject ?? (draft.replyTo !== undefined ? replySubject(draft.replyTo.subject) : undefined);
  const composer = new MailComposer({
    from: mailbox(draft.from),
    to: draft.to.map(mailbox),
    ...(draft.cc?.length ? { cc: draft.cc.map(mailbox) } : {}),
    ...(draft.bcc?.length ? { bcc: draft.bcc.map(mailbox) } : {}),
    ...(replyTo ? { replyTo } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(thread ? { inReplyTo: thread.inReplyTo, references: thread.references } : {}),
    ...(draft.isHtml ? { html: draft.body } : { text: draft.body }),
    // ASCII values go out as written (a List-Unsubscribe URL must not be re-encoded); others are
    // encoded as RFC 2047 words by the composer.
    headers: others.map((h) =>
      /^[\x20-\x7e]*$/.test(h.value)
        ? { key: h.name, value: { prepared: true, value: h.value } }
        : { key: h.name, value: h.value },
    ),
    newline: "\r\n",
  });
  const node = composer.compile();
  node.keepBcc = true;
  return node.build();
}
