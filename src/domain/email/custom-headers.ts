// `custom_headers` of a send (reference unipile §2.1.8). Graph's JSON message takes only `X-` headers
// in `internetMessageHeaders` (and Reply-To maps to the `replyTo` property); any other header, such
// as RFC 8058's List-Unsubscribe and List-Unsubscribe-Post that bulk senders must carry, can only
// reach the message through a MIME create (send.service.ts, mime-message.ts). Headers the message is
// built from are refused: setting them would contradict the request's own fields or break the MIME.
import { AppError } from "../../lib/errors.ts";

export interface CustomHeader {
  name: string;
  value: string;
}

/** Headers Mailroom (or Exchange's transport) writes itself; lower case. */
const RESERVED = new Set([
  "from",
  "sender",
  "to",
  "cc",
  "bcc",
  "subject",
  "date",
  "message-id",
  "in-reply-to",
  "references",
  "content-type",
  "content-transfer-encoding",
  "content-disposition",
  "content-id",
  "content-length",
  "mime-version",
  "return-path",
  "received",
  "resent-from",
  "resent-sender",
  "resent-to",
  "resent-cc",
  "resent-bcc",
  "resent-date",
  "resent-message-id",
  "dkim-signature",
  "thread-index",
  "thread-topic",
]);

/** RFC 5322 §3.6.8 field-name: printable US-ASCII except `:` (no spaces, no controls). */
const FIELD_NAME = /^[!-9;-~]+$/;
/** RFC 5322 §2.2: a value is one logical line; CR, LF and NUL would end or corrupt the header. */
const UNSAFE_VALUE = /[\r\n\0]/;
/** Exchange keeps header values to a bounded size; longer ones are a mistake, not a header. */
const MAX_VALUE_LENGTH = 8192;

/** How the headers can reach Microsoft: all through the JSON message, or only by sending MIME. */
export type HeaderRoute = "json" | "mime";

/**
 * Checks every header and says whether the JSON message can carry them (X- headers and Reply-To)
 * or the message must be sent as MIME. Every bad header is named in one `422 errors/invalid_headers`.
 */
export function checkCustomHeaders(headers: readonly CustomHeader[]): HeaderRoute {
  const problems: string[] = [];
  let route: HeaderRoute = "json";
  for (const { name, value } of headers) {
    const shown = JSON.stringify(name.slice(0, 100));
    const lower = name.toLowerCase();
    if (!FIELD_NAME.test(name))
      problems.push(`${shown} is not a header name (printable ASCII, no ':' or spaces)`);
    else if (RESERVED.has(lower) || lower.startsWith("resent-") || lower.startsWith("arc-"))
      problems.push(`${shown} is set by Mailroom and Microsoft from the request's own fields`);
    else if (UNSAFE_VALUE.test(value)) problems.push(`${shown} has a line break or NUL in its value`);
    else if (value.length > MAX_VALUE_LENGTH)
      problems.push(`${shown} has a value over ${MAX_VALUE_LENGTH} characters`);
    else if (!isJsonHeader(name)) route = "mime";
  }
  if (problems.length > 0)
    throw new AppError("invalid_headers", { detail: `custom_headers: ${problems.join("; ")}` });
  return route;
}

/** Graph's JSON message carries these: X- headers (internetMessageHeaders) and Reply-To (replyTo). */
export function isJsonHeader(name: string): boolean {
  return /^x-/i.test(name) || name.toLowerCase() === "reply-to";
}

/** Reply-To's addresses, for the JSON message's `replyTo`. */
export function replyToAddresses(headers: readonly CustomHeader[]): string[] {
  return headers
    .filter((h) => h.name.toLowerCase() === "reply-to")
    .flatMap((h) => h.value.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
}
