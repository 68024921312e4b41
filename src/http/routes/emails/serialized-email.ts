// Emails as JSON bytes, serialised once per email object: the email cache (domain/email/email-cache.ts)
// hands out the same object for as long as Graph names the same version of the message, so its UTF-8
// JSON is kept beside it and a cached page is one copy of ready bytes (no serialisation, no encoding).
// The bytes are those of the route's schema serializer (the same compiled EmailSchema;
// test/email-cache.test.ts compares them).
import type { FastifyReply } from "fastify";
import type { EmailObject } from "../../../domain/email/email.types.ts";
import { EmailSchema } from "../../schemas/email.schema.ts";

/** Weak: an email the cache drops (and no response holds) takes its JSON with it. */
const jsonOf = new WeakMap<EmailObject, Buffer>();

const JSON_TYPE = "application/json; charset=utf-8";
const LIST_HEAD = Buffer.from('{"object":"EmailList","items":[');
const COMMA = Buffer.from(",");

function emailJson(reply: FastifyReply, email: EmailObject): Buffer {
  let json = jsonOf.get(email);
  if (json === undefined) {
    const serialize = reply.compileSerializationSchema(EmailSchema as unknown as Record<string, unknown>);
    json = Buffer.from(serialize(email as unknown as Record<string, unknown>), "utf8");
    jsonOf.set(email, json);
  }
  return json;
}

/** Sends one email (EmailSchema) from its kept JSON. */
export function sendEmail(reply: FastifyReply, email: EmailObject): FastifyReply {
  return reply.type(JSON_TYPE).send(emailJson(reply, email));
}

/**
 * The JSON of pages the email cache serves unchanged (`remembered`), least recently used first, with
 * the emails it was joined from: a page served again is the same bytes without joining 100 pieces
 * (which cost more than the rest of such a read). Bounded in bytes; a page is only taken again when
 * it holds the very same email objects.
 */
const joinedPages = new Map<object, { items: EmailObject[]; json: Buffer }>();
let joinedBytes = 0;
const JOINED_PAGES_MAX_BYTES = 16 * 1024 * 1024;

/** Sends an EmailList (EmailListSchema's property order) joined from its emails' kept JSON. */
export function sendEmailList(
  reply: FastifyReply,
  list: { items: EmailObject[]; cursor: string | null; remembered?: object },
): FastifyReply {
  const remembered = list.remembered;
  if (remembered !== undefined) {
    const joined = joinedPages.get(remembered);
    if (joined && sameEmails(joined.items, list.items)) return reply.type(JSON_TYPE).send(joined.json);
  }
  const parts: Buffer[] = [LIST_HEAD];
  list.items.forEach((email, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(emailJson(reply, email));
  });
  parts.push(Buffer.from(`],"cursor":${list.cursor === null ? "null" : JSON.stringify(list.cursor)}}`));
  const json = Buffer.concat(parts);
  if (remembered !== undefined) keepJoined(remembered, list.items, json);
  return reply.type(JSON_TYPE).send(json);
}

function sameEmails(a: readonly EmailObject[], b: readonly EmailObject[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function keepJoined(page: object, items: EmailObject[], json: Buffer): void {
  if (json.length > JOINED_PAGES_MAX_BYTES / 8) return;
  const old = joinedPages.get(page);
  if (old) {
    joinedPages.delete(page);
    joinedBytes -= old.json.length;
  }
  joinedPages.set(page, { items, json });
  joinedBytes += json.length;
  for (const [oldest, entry] of joinedPages) {
    if (joinedBytes <= JOINED_PAGES_MAX_BYTES) break;
    joinedPages.delete(oldest);
    joinedBytes -= entry.json.length;
  }
}
