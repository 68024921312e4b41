// `GET /me/messages/{id}/$value`: the message as RFC 822 / MIME (Graph "Get MIME content of a
// message"), built from the record the way Exchange writes it: the transport headers it kept, then
// From/To/Cc/Subject/Date/Message-ID/In-Reply-To/References, Thread-Topic/Thread-Index, then the
// body — text/plain alone, or multipart/alternative (text + HTML) for an HTML body, inside
// multipart/related when inline images carry Content-IDs, inside multipart/mixed with attachments
// (base64, Content-Disposition with filename and size). Lines end in CRLF (RFC 5322 §2.1).
import { randomBytes } from "node:crypto";
import { htmlToText } from "./body.ts";
import type { AttachmentRecord, EmailAddress, MessageRecord } from "./mailbox-store.ts";

const CRLF = "\r\n";

/** Headers Exchange writes from the item's properties; kept transport headers of these names are dropped. */
const GENERATED = new Set([
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
  "thread-topic",
  "thread-index",
  "importance",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
  "content-id",
]);

/** RFC 2047 encoded-word (B) for header text that is not printable ASCII. */
function encodeWord(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  // Encoded words are at most 75 characters: split the UTF-8 on whole characters.
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > 45) {
      words.push(`=?utf-8?B?${Buffer.from(chunk).toString("base64")}?=`);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk) words.push(`=?utf-8?B?${Buffer.from(chunk).toString("base64")}?=`);
  return words.join(`${CRLF} `);
}

function mailbox(address: EmailAddress): string {
  if (!address.name || address.name === address.address) return `<${address.address}>`;
  const name = /^[\x20-\x7e]*$/.test(address.name)
    ? `"${address.name.replace(/[\\"]/g, "\\$&")}"`
    : encodeWord(address.name);
  return `${name} <${address.address}>`;
}

function addressList(addresses: EmailAddress[]): string {
  return addresses.map(mailbox).join(`,${CRLF} `);
}

/** RFC 5322 §3.3 date-time in UTC: `Tue, 01 Apr 2025 08:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  const [day, date, month, year, time] = new Date(ms).toUTCString().split(" ");
  return `${day} ${date} ${month} ${year} ${time} +0000`;
}

/** Base64 in 76-character lines (RFC 2045 §6.8). */
function base64Lines(bytes: Buffer): string {
  const text = bytes.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join(CRLF);
}

/** A parameter value: quoted when ASCII, RFC 2231 `name*=utf-8''…` otherwise. */
function parameter(name: string, value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `${name}="${value.replace(/[\\"]/g, "\\$&")}"`;
  return `${name}*=utf-8''${encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

interface Part {
  headers: string[];
  body: string;
}

function textPart(subtype: "plain" | "html", content: string): Part {
  return {
    headers: [`Content-Type: text/${subtype}; charset="utf-8"`, "Content-Transfer-Encoding: base64"],
    body: base64Lines(Buffer.from(content, "utf8")),
  };
}

function attachmentPart(attachment: AttachmentRecord): Part {
  const inline = attachment.isInline && attachment.contentId !== null;
  const modified = rfc5322Date(attachment.lastModifiedAt);
  const headers = [
    `Content-Type: ${attachment.contentType || "application/octet-stream"}; ${parameter("name", attachment.name)}`,
    `Content-Description: ${encodeWord(attachment.name)}`,
    `Content-Disposition: ${inline ? "inline" : "attachment"}; ${parameter("filename", attachment.name)};${CRLF} size=${attachment.content.length}; creation-date="${modified}";${CRLF} modification-date="${modified}"`,
  ];
  if (attachment.contentId) headers.push(`Content-ID: <${attachment.contentId.replace(/^<|>$/g, "")}>`);
  headers.push("Content-Transfer-Encoding: base64");
  return { headers, body: base64Lines(attachment.content) };
}

function multipart(subtype: string, parts: Part[]): Part {
  const boundary = `_${randomBytes(12).toString("hex")}_`;
  const body = parts
    .map((part) => `--${boundary}${CRLF}${part.headers.join(CRLF)}${CRLF}${CRLF}${part.body}${CRLF}`)
    .join("");
  return {
    headers: [`Content-Type: multipart/${subtype};${CRLF}\tboundary="${boundary}"`],
    body: `${body}--${boundary}--`,
  };
}

function bodyPart(message: MessageRecord): Part {
  const { body } = message;
  const inline = message.attachments.filter((a) => a.isInline && a.contentId !== null);
  const attached = message.attachments.filter((a) => !(a.isInline && a.contentId !== null));
  let part =
    body.contentType === "html"
      ? multipart("alternative", [
          textPart("plain", htmlToText(body.content)),
          textPart("html", body.content),
        ])
      : textPart("plain", body.content);
  if (body.contentType === "html" && inline.length > 0)
    part = multipart("related", [part, ...inline.map(attachmentPart)]);
  if (attached.length > 0) part = multipart("mixed", [part, ...attached.map(attachmentPart)]);
  return part;
}

/** MIME per record version: a large message is not re-encoded for every read. */
const mimeCache = new WeakMap<MessageRecord, { changeKey: string; bytes: Buffer }>();

/** The whole message as MIME bytes. */
export function messageMime(message: MessageRecord): Buffer {
  const cached = mimeCache.get(message);
  if (cached && cached.changeKey === message.changeKey) return cached.bytes;
  const bytes = buildMime(message);
  mimeCache.set(message, { changeKey: message.changeKey, bytes });
  return bytes;
}

function buildMime(message: MessageRecord): Buffer {
  const headers: string[] = [];
  for (const header of message.isDraft ? [] : message.headers)
    if (!GENERATED.has(header.name.toLowerCase())) headers.push(`${header.name}: ${header.value}`);
  if (message.from) headers.push(`From: ${mailbox(message.from)}`);
  if (message.sender && message.from && message.sender.address !== message.from.address)
    headers.push(`Sender: ${mailbox(message.sender)}`);
  if (message.toRecipients.length > 0) headers.push(`To: ${addressList(message.toRecipients)}`);
  if (message.ccRecipients.length > 0) headers.push(`Cc: ${addressList(message.ccRecipients)}`);
  if (message.bccRecipients.length > 0) headers.push(`Bcc: ${addressList(message.bccRecipients)}`);
  if (message.replyTo.length > 0) headers.push(`Reply-To: ${addressList(message.replyTo)}`);
  headers.push(`Subject: ${encodeWord(message.subject)}`);
  headers.push(`Thread-Topic: ${encodeWord(message.subject.replace(/^((re|fw|fwd):\s*)+/i, ""))}`);
  if (message.conversationIndex) headers.push(`Thread-Index: ${message.conversationIndex}`);
  headers.push(`Date: ${rfc5322Date(message.sentAt ?? message.receivedAt)}`);
  headers.push(`Message-ID: ${message.internetMessageId}`);
  if (message.inReplyTo) headers.push(`In-Reply-To: ${message.inReplyTo}`);
  if (message.references.length > 0) headers.push(`References: ${message.references.join(`${CRLF} `)}`);
  if (message.importance !== "normal") headers.push(`Importance: ${message.importance}`);
  headers.push("MIME-Version: 1.0");
  const body = bodyPart(message);
  headers.push(...body.headers);
  return Buffer.from(`${headers.join(CRLF)}${CRLF}${CRLF}${body.body}${CRLF}`, "utf8");
}
