// Mailroom email and folder ids (docs/adr/0003-email-ids.md): deterministic, path-safe encodings of
// the Graph immutable id together with the account, so no mapping table is needed and one message
// never has two ids. Unipile's SDK inserts ids into URL paths raw (reference §1.1), so every id
// Mailroom emits uses only `A-Z a-z 0-9 - _ = ~ .`.
import { createHash } from "node:crypto";

const SAFE = /[A-Za-z0-9_=-]/;

/**
 * A Graph id as Mailroom shows it (`provider_id`, attachment ids). Graph ids use base64url-like
 * characters plus `=` padding, which pass through unchanged; anything else (never seen, but
 * Exchange has used standard base64 in EWS ids) becomes `~XX`, so the mapping is reversible.
 */
export function encodeProviderId(graphId: string): string {
  let out = "";
  for (const ch of graphId) {
    if (SAFE.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, "utf8")) out += `~${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

export function decodeProviderId(providerId: string): string | undefined {
  if (!/^(?:[A-Za-z0-9_=-]|~[0-9a-f]{2})+$/.test(providerId)) return undefined;
  if (!providerId.includes("~")) return providerId;
  const bytes: number[] = [];
  for (let i = 0; i < providerId.length; ) {
    if (providerId[i] === "~") {
      bytes.push(Number.parseInt(providerId.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(providerId.charCodeAt(i));
      i += 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** `{account id}.{provider id}`: account ids are base64url (no `.`), provider ids never contain `.`. */
export function mailroomId(accountId: string, graphId: string): string {
  return `${accountId}.${encodeProviderId(graphId)}`;
}

export interface IdRef {
  /** The account the id names, when it is a Mailroom id. */
  accountId?: string;
  graphId: string;
}

/**
 * Reads a path id: a Mailroom id, a bare provider id, Unipile's JSON provider id
 * (`{"message_id":"<…>","uid":"AAMk…"}`, reference §3.8), or undefined when it is none of these.
 */
export function parseIdRef(value: string): IdRef | undefined {
  const trimmed = value.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed) as { uid?: unknown };
      if (typeof parsed.uid === "string" && parsed.uid.length > 0) return { graphId: parsed.uid };
    } catch {
      return undefined;
    }
    return undefined;
  }
  const dot = trimmed.indexOf(".");
  if (dot > 0) {
    const accountId = trimmed.slice(0, dot);
    const graphId = decodeProviderId(trimmed.slice(dot + 1));
    if (!/^[A-Za-z0-9_-]+$/.test(accountId) || graphId === undefined) return undefined;
    return { accountId, graphId };
  }
  const graphId = decodeProviderId(trimmed);
  return graphId === undefined ? undefined : { graphId };
}

/** An email named by its RFC 5322 Message-ID (`internetMessageId`), found by a filtered query. */
export interface MessageIdRef {
  messageId: string;
}

export type EmailRef = IdRef | MessageIdRef;

export function isMessageIdRef(ref: EmailRef): ref is MessageIdRef {
  return "messageId" in ref;
}

/** `<left@right>` (RFC 5322 §3.6.4 msg-id); bare `left@right` is taken with its brackets added. */
const MSG_ID = /^<([^<>\s]+@[^<>\s]+)>$/;
const BARE_MSG_ID = /^[^<>\s{}"]+@[^<>\s{}"]+$/;

/**
 * Reads an email id in any form Unipile documents (reference §3.8): a Mailroom id, a bare provider id,
 * the JSON provider id `{"message_id":"<…>","uid":"AAMk…"}` (`uid` is the Graph message id; without
 * it, `message_id` is used), or an RFC 822 Message-ID `<…@…>`. Undefined when it is none of these.
 * Provider ids never contain `@`, so a Message-ID cannot be taken for one.
 */
export function parseEmailRef(value: string): EmailRef | undefined {
  const trimmed = value.trim();
  const messageId = asMessageId(trimmed);
  if (messageId !== undefined) return { messageId };
  if (trimmed.startsWith("{")) {
    let parsed: { uid?: unknown; message_id?: unknown };
    try {
      parsed = JSON.parse(trimmed) as { uid?: unknown; message_id?: unknown };
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== "object") return undefined;
    if (typeof parsed.uid === "string" && parsed.uid.trim() !== "") return { graphId: parsed.uid.trim() };
    const fromJson =
      typeof parsed.message_id === "string" ? asMessageId(parsed.message_id.trim()) : undefined;
    return fromJson === undefined ? undefined : { messageId: fromJson };
  }
  return parseIdRef(trimmed);
}

function asMessageId(value: string): string | undefined {
  if (MSG_ID.test(value)) return value;
  if (BARE_MSG_ID.test(value)) return `<${value}>`;
  return undefined;
}

/** A short, fixed-size fingerprint of a Graph id, for cursors (a cursor names the ids it already returned). */
export function idFingerprint(graphId: string): string {
  return createHash("sha256").update(graphId).digest("base64").slice(0, 12);
}
