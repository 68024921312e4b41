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

/** Sends an EmailList (EmailListSchema's property order) joined from its emails' kept JSON. */
export function sendEmailList(
  reply: FastifyReply,
  list: { items: EmailObject[]; cursor: string | null },
): FastifyReply {
  const parts: Buffer[] = [LIST_HEAD];
  list.items.forEach((email, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(emailJson(reply, email));
  });
  parts.push(Buffer.from(`],"cursor":${list.cursor === null ? "null" : JSON.stringify(list.cursor)}}`));
  return reply.type(JSON_TYPE).send(Buffer.concat(parts));
}
