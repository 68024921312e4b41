// Emails as JSON, serialised once per email object: the email cache (domain/email/email-cache.ts)
// hands out the same object for as long as Graph names the same version of the message, so its JSON
// is kept beside it and a cached page is joined from ready strings. The bytes are those of the
// route's schema serializer (the same compiled EmailSchema; test/email-cache.test.ts compares them).
import type { FastifyReply } from "fastify";
import type { EmailObject } from "../../../domain/email/email.types.ts";
import { EmailSchema } from "../../schemas/email.schema.ts";

/** Weak: an email the cache drops (and no response holds) takes its JSON with it. */
const jsonOf = new WeakMap<EmailObject, string>();

function emailJson(reply: FastifyReply, email: EmailObject): string {
  let json = jsonOf.get(email);
  if (json === undefined) {
    const serialize = reply.compileSerializationSchema(EmailSchema as unknown as Record<string, unknown>);
    json = serialize(email as unknown as Record<string, unknown>);
    jsonOf.set(email, json);
  }
  return json;
}

const JSON_TYPE = "application/json; charset=utf-8";

/** This reply's email is serialised with the kept JSON (a custom serializer sets no content type). */
export function serializeEmail(reply: FastifyReply): void {
  reply.type(JSON_TYPE).serializer((payload) => emailJson(reply, payload as EmailObject));
}

/** This reply's EmailList is serialised (EmailListSchema's property order) from the kept JSON. */
export function serializeEmailList(reply: FastifyReply): void {
  reply.type(JSON_TYPE).serializer((payload) => {
    const list = payload as { items: EmailObject[]; cursor: string | null };
    const items = list.items.map((email) => emailJson(reply, email)).join(",");
    return `{"object":"EmailList","items":[${items}],"cursor":${list.cursor === null ? "null" : JSON.stringify(list.cursor)}}`;
  });
}
