// Messages given in MIME format (Graph: `POST /me/messages` and `POST /me/sendMail` with
// `Content-Type: text/plain` and the RFC 5322 message in base64; "create message in MIME format",
// "send message in MIME format"). Exchange keeps the message's internet headers: a header the JSON
// message could not carry (List-Unsubscribe, List-Unsubscribe-Post…) reaches the recipients and is
// read back in `internetMessageHeaders`. A body that is not base64 is 400
// ErrorMimeContentInvalidBase64String (reference §3.5); the 4 MB request limit applies as to JSON.
import { type AddressObject, simpleParser } from "mailparser";
import { normalizeHtml } from "./body.ts";
import { GraphError } from "./errors.ts";
import { childConversationIndex } from "./ids.ts";
import type { EmailAddress, MailboxStore, MessageInit } from "./mailbox-store.ts";

/** Headers Exchange turns into message properties (or rebuilds on transport) rather than keeping as is. */
const MAPPED = new Set([
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "in-reply-to",
  "references",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
  "content-id",
  "thread-index",
  "thread-topic",
  "received",
  "return-path",
  "x-mailer",
]);

export function invalidMime(): GraphError {
  return new GraphError(
    400,
    "ErrorMimeContentInvalidBase64String",
    "Invalid base64 string for MIME content.",
  );
}

/** The request body as MIME bytes: base64 (line breaks allowed), else ErrorMimeContentInvalidBase64String. */
export function decodeMimeBody(body: Buffer | null): Buffer {
  const text = (body ?? Buffer.alloc(0)).toString("latin1").replace(/\s+/g, "");
  if (text === "" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw invalidMime();
  return Buffer.from(text, "base64");
}

function addresses(value: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list
    .flatMap((entry) => entry.value)
    .filter((a) => typeof a.address === "string" && a.address !== "")
    .map((a) => ({ name: a.name || a.address!, address: a.address! }));
}

/** The header lines the message keeps, values unfolded (RFC 5322 §2.2.3) and otherwise as sent. */
function keptHeaders(lines: readonly { key: string; line: string }[]): { name: string; value: string }[] {
  const kept: { name: string; value: string }[] = [];
  for (const { key, line } of lines) {
    if (MAPPED.has(key.toLowerCase())) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    kept.push({
      name: line.slice(0, colon).trim(),
      value: line
        .slice(colon + 1)
        .replace(/\r?\n(?=[ \t])/g, "")
        .trim(),
    });
  }
  return kept;
}

/**
 * Parses a MIME message into the properties a draft or a sent message gets. A reply (In-Reply-To or
 * References naming a message of this mailbox) joins that message's conversation, as Exchange threads it.
 */
export async function parseMimeMessage(
  body: Buffer | null,
  store: MailboxStore,
  now: number,
): Promise<MessageInit> {
  const bytes = decodeMimeBody(body);
  const parsed = await simpleParser(bytes, {
    skipImageLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
  });
  const inReplyTo = parsed.inReplyTo?.trim() || null;
  const references = (
    Array.isArray(parsed.references) ? parsed.references : parsed.references ? [parsed.references] : []
  ).flatMap((r) => r.match(/<[^<>\s]+>/g) ?? []);
  const init: MessageInit = {
    subject: parsed.subject ?? "",
    toRecipients: addresses(parsed.to),
    ccRecipients: addresses(parsed.cc),
    bccRecipients: addresses(parsed.bcc),
    replyTo: addresses(parsed.replyTo),
    body:
      typeof parsed.html === "string"
        ? { contentType: "html", content: normalizeHtml(parsed.html) }
        : { contentType: "text", content: parsed.text ?? "" },
    inReplyTo,
    references,
    headers: keptHeaders(parsed.headerLines),
    attachments: parsed.attachments.map((attachment) => ({
      key: "",
      name: attachment.filename ?? "attachment",
      contentType: attachment.contentType,
      content: attachment.content,
      contentId: attachment.cid ? `${attachment.cid}` : null,
      contentLocation: null,
      isInline: attachment.contentDisposition === "inline" && Boolean(attachment.cid),
      lastModifiedAt: now,
    })),
  };
  const from = addresses(parsed.from)[0];
  if (from) init.from = from;
  if (parsed.messageId) init.internetMessageId = parsed.messageId;
  const parentId = inReplyTo ?? references[references.length - 1];
  const parent = parentId ? store.all.find((m) => m.internetMessageId === parentId) : undefined;
  if (parent) {
    init.conversationIndex = childConversationIndex(parent.conversationIndex);
    init.conversationId = parent.conversationId;
  }
  return init;
}
