// Request bodies for fuzzing: JSON from the operation's schema, hostile JSON (deep nesting, huge
// strings, prototype keys), multipart forms well formed or broken, and other content types.
import fc from "fast-check";
import { hostileString, type JsonSchema, type Pools, stringValue, valueFor } from "./fuzz-values.ts";

/** The body a send or draft request would have: the routes with no JSON schema in the document. */
export const SEND_LIKE: JsonSchema = {
  type: "object",
  required: ["account_id", "to", "body"],
  properties: {
    account_id: { type: "string" },
    to: {
      type: "array",
      items: {
        type: "object",
        properties: { identifier: { type: "string" }, display_name: { type: "string" } },
      },
    },
    cc: { type: "array", items: { type: "object", properties: { identifier: { type: "string" } } } },
    subject: { type: "string" },
    body: { type: "string" },
    reply_to: { type: "string" },
    draft_id: { type: "string" },
    from: { type: "object", properties: { identifier: { type: "string" } } },
    custom_headers: {
      type: "array",
      items: { type: "object", properties: { name: { type: "string" }, value: { type: "string" } } },
    },
  },
};

const deepJson = fc.constantFrom(200, 5_000, 100_000).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`);
const rawJsonHostile = fc.oneof(
  deepJson,
  fc.constantFrom(
    "",
    "{",
    "null",
    "[]",
    "1",
    '"x"',
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    '{"a":1,"a":2}',
    "\uFEFF{}",
  ),
  fc.constant(JSON.stringify({ body: "x".repeat(2 * 1024 * 1024) })),
);

/** A well-formed send form as Unipile's SDK builds it, with values that exist and a small attachment. */
export function calmMultipart(pools: Pools): fc.Arbitrary<FuzzBody> {
  const field = (name: string) => stringValue(pools, name, false);
  return fc
    .record({
      account_id: field("account_id"),
      to: field("identifier"),
      subject: fc.string({ maxLength: 30 }),
      body: fc.string({ maxLength: 60 }),
      extra: fc.option(fc.constantFrom("reply_to", "draft_id", "cc"), { nil: undefined }),
      extraValue: field("emails"),
      attachment: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
    })
    .map(({ account_id, to, subject, body, extra, extraValue, attachment }) => {
      const b = "calmboundary";
      const part = (name: string, value: string) =>
        `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
      let text =
        part("account_id", account_id) +
        part("to", JSON.stringify([{ identifier: to }])) +
        part("subject", subject) +
        part("body", body);
      if (extra === "cc") text += part("cc", JSON.stringify([{ identifier: extraValue }]));
      else if (extra) text += part(extra, extraValue);
      if (attachment !== undefined)
        text += `--${b}\r\nContent-Disposition: form-data; name="attachments"; filename="note.txt"\r\nContent-Type: text/plain\r\n\r\n${attachment}\r\n`;
      return {
        contentType: `multipart/form-data; boundary=${b}`,
        payload: Buffer.from(`${text}--${b}--\r\n`),
      };
    });
}

/** A multipart body: sometimes well formed, sometimes broken in the ways clients break it. */
function multipartFor(pools: Pools): fc.Arbitrary<{ contentType: string; payload: Buffer }> {
  const name = fc.oneof(
    fc.constantFrom(
      "account_id",
      "to",
      "cc",
      "subject",
      "body",
      "reply_to",
      "draft_id",
      "from",
      "attachments",
      "custom_headers",
      "__proto__",
      "attachments[0]",
    ),
    fc.string({ maxLength: 10 }),
  );
  const part = fc.option(name, { nil: undefined }).chain((partName) =>
    fc.record({
      name: fc.constant(partName),
      filename: fc.option(
        fc.oneof(fc.constantFrom("a.txt", "../../x", "", "😀.pdf"), fc.string({ maxLength: 10 })),
        { nil: undefined },
      ),
      value: fc.oneof(
        stringValue(pools, partName),
        fc.constant('[{"identifier":"megan.bowen@contoso.onmicrosoft.com"}]'),
        fc.constant("x".repeat(1024 * 1024)),
      ),
    }),
  );
  return fc
    .record({
      parts: fc.array(part, { maxLength: 5 }),
      boundary: fc.constantFrom("XX", "----b", "a".repeat(80)),
      declared: fc.constantFrom("same", "none", "other", "empty"),
      ending: fc.constantFrom("close", "none", "truncate", "garbage"),
      cut: fc.nat(),
    })
    .map(({ parts, boundary, declared, ending, cut }) => {
      let text = "";
      for (const p of parts) {
        const disposition = [
          "form-data",
          p.name !== undefined ? `name="${p.name}"` : "",
          p.filename !== undefined ? `filename="${p.filename}"` : "",
        ]
          .filter(Boolean)
          .join("; ");
        text += `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.filename !== undefined ? "Content-Type: application/octet-stream\r\n" : ""}\r\n${p.value}\r\n`;
      }
      if (ending === "close") text += `--${boundary}--\r\n`;
      if (ending === "truncate") text = text.slice(0, text.length === 0 ? 0 : cut % text.length);
      if (ending === "garbage") text += "\u0000garbage";
      const contentType =
        declared === "same"
          ? `multipart/form-data; boundary=${boundary}`
          : declared === "none"
            ? "multipart/form-data"
            : declared === "empty"
              ? "multipart/form-data; boundary="
              : "multipart/form-data; boundary=other";
      return { contentType, payload: Buffer.from(text, "utf8") };
    });
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/xml",
  "application/octet-stream",
  ";;;",
  "multipart/mixed; boundary=x",
];

export type FuzzBody = { contentType?: string; payload?: string | Buffer };

/** A body for an operation with JSON schema `body` (send and drafts have none: SEND_LIKE stands in). */
export function bodyFor(body: JsonSchema | undefined, pools: Pools): fc.Arbitrary<FuzzBody> {
  const schema = body ?? SEND_LIKE;
  const json = valueFor(schema, pools).map((v) => ({
    contentType: "application/json",
    payload: JSON.stringify(v) ?? "",
  }));
  return fc.oneof(
    { weight: 5, arbitrary: json },
    { weight: 2, arbitrary: rawJsonHostile.map((payload) => ({ contentType: "application/json", payload })) },
    { weight: 3, arbitrary: multipartFor(pools) },
    {
      weight: 1,
      arbitrary: fc.record({
        contentType: fc.constantFrom(...CONTENT_TYPES),
        payload: fc.oneof(fc.string(), hostileString),
      }),
    },
    { weight: 1, arbitrary: fc.constant<FuzzBody>({}) },
  );
}
