// Conformance: the official unipile-node-sdk in strict validation mode drives every email, folder and
// attachment method against Mailroom + the sandbox (both id forms, a large folder paged to the end,
// send with attachments read back from the recipient's mailbox, reply threading, move, delete,
// update). Every JSON answer Mailroom gave is then validated against Unipile's OpenAPI subset.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Ajv } from "ajv";
import formatsPlugin from "ajv-formats";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const OPENAPI = toJsonSchema(
  JSON.parse(
    readFileSync(new URL("../../shared/reference/unipile/openapi-v1-subset.json", import.meta.url), "utf8"),
  ),
) as { paths: Record<string, Record<string, unknown>> };
const addFormats = ((formatsPlugin as unknown as { default?: unknown }).default ?? formatsPlugin) as (
  ajv: Ajv,
) => void;

/** OpenAPI 3.0 `nullable` → JSON Schema: `{nullable:true}` alone is `{type:"null"}`, else `type` gains "null". */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = toJsonSchema(value);
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else if (out.type === undefined && Object.keys(out).every((k) => k === "description" || k === "title"))
      out.type = "null";
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  return out;
}

type Email = Record<string, unknown> & {
  id: string;
  provider_id: string;
  subject: string;
  role: string;
  thread_id?: string;
  attachments: { id: string; name: string; size: number; mime: string }[];
};
type EmailList = { object: string; items: Email[]; cursor: string | null };
type Folder = { id: string; provider_id: string; role: string; name: string; nb_mails: number };
type Recorded = { method: string; path: string; status: number; body: unknown };

/** The OpenAPI operation a request path belongs to (`{param}` segments match one path segment). */
function operationFor(method: string, path: string): string | undefined {
  for (const template of Object.keys(OPENAPI.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (pattern.test(path) && OPENAPI.paths[template]?.[method.toLowerCase()]) return template;
  }
  return undefined;
}

describe("Unipile conformance (SDK strict mode + OpenAPI subset)", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;
  const recorded: Recorded[] = [];
  const realFetch = globalThis.fetch;

  const inboxOf = (accountId: string, subject: string) =>
    until(`"${subject}" in ${accountId}'s inbox`, async () => {
      const list = (await client.email.getAll({
        account_id: accountId,
        role: "inbox",
        limit: 25,
      })) as unknown as EmailList;
      return list.items.find((e) => e.subject === subject);
    });

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: true, corpusSize: 300 });
    const ids = await h.connectMailboxes([ADELE, MEGAN]);
    adeleId = ids[ADELE]!;
    meganId = ids[MEGAN]!;
    // Records every answer Mailroom gives the SDK, for the OpenAPI check at the end.
    globalThis.fetch = async (input, init) => {
      const response = await realFetch(input, init);
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.origin === h.baseUrl && url.pathname.startsWith("/api/v1/")) {
        const type = response.headers.get("content-type") ?? "";
        recorded.push({
          method: init?.method ?? "GET",
          path: url.pathname.replace(/\/{2,}/g, "/"),
          status: response.status,
          body: type.includes("application/json") ? await response.clone().json() : undefined,
        });
      }
      return response;
    };
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await h.dispose();
  });

  it("folders: getAllFolders without account_id answers every account's folders", async () => {
    const all = (await client.email.getAllFolders()) as unknown as {
      items: (Folder & { account_id: string })[];
    };
    assert.ok(all.items.some((f) => f.account_id === adeleId && f.role === "inbox"));
  });

  it("folders: getAllFolders, getOneFolder by id and by provider id", async () => {
    const folders = (await client.email.getAllFolders({ account_id: adeleId })) as unknown as {
      items: Folder[];
    };
    for (const folder of folders.items) {
      const byId = (await client.email.getOneFolder(folder.id)) as unknown as Folder;
      const byProvider = (await client.email.getOneFolder.byProviderId(
        folder.provider_id,
        adeleId,
      )) as unknown as Folder;
      assert.deepEqual([byId.id, byProvider.id], [folder.id, folder.id]);
    }
  });

  it("a large folder paged 50 at a time reaches the end with every message exactly once", async () => {
    const folders = (await client.email.getAllFolders({ account_id: adeleId })) as unknown as {
      items: Folder[];
    };
    const inbox = folders.items.find((f) => f.role === "inbox")!;
    const store = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
    const expected = new Set(
      store.all.filter((m) => m.folderId === inbox.provider_id).map((m) => m.immutableId),
    );
    assert.ok(expected.size > 50, `inbox has ${expected.size} messages`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = (await client.email.getAll({
        account_id: adeleId,
        folder: inbox.id,
        limit: 50,
        ...(cursor ? { cursor } : {}),
      })) as unknown as EmailList;
      assert.ok(page.items.length <= 50);
      seen.push(...page.items.map((e) => e.provider_id));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 50);
    assert.equal(cursor, null);
    assert.ok(pages >= 2, `${pages} pages`);
    assert.equal(new Set(seen).size, seen.length, "no duplicates");
    assert.deepEqual(new Set(seen), expected, "no gaps");
  });

  it("getOne and attachments by Mailroom id and by provider id", async () => {
    let found: Email | undefined;
    let cursor: string | null = null;
    for (let i = 0; i < 10 && !found; i++) {
      const page = (await client.email.getAll({
        account_id: adeleId,
        limit: 50,
        ...(cursor ? { cursor } : {}),
      })) as unknown as EmailList;
      found = page.items.find((e) => e.attachments.some((a) => a.size < 1_000_000));
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert.ok(found);
    const byId = (await client.email.getOne(found.id)) as unknown as Email;
    const byProvider = (await client.email.getOne.byProviderId(
      found.provider_id,
      adeleId,
    )) as unknown as Email;
    assert.deepEqual([byId.id, byProvider.id], [found.id, found.id]);
    const att = found.attachments.find((a) => a.size < 1_000_000)!;
    const one = (await client.email.getEmailAttachment({
      email_id: found.id,
      attachment_id: att.id,
    })) as Blob;
    const two = (await client.email.getEmailAttachment.byProviderId({
      email_provider_id: found.provider_id,
      attachment_id: att.id,
      account_id: adeleId,
    })) as Blob;
    assert.deepEqual([one.size, two.size], [att.size, att.size]);
  });

  it("send with attachments (one above 3 MB) arrives in the recipient's mailbox with the same bytes", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 4097, 0x5a);
    big.write("start", 0);
    big.write("end", big.length - 3);
    const small = Buffer.from("%PDF-1.4 tiny");
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN, display_name: "Megan Bowen" }],
      subject: "Conformance: attachments",
      body: "<p>Two files</p>",
      attachments: [
        ["small.pdf", small],
        ["big.bin", big],
      ],
    })) as unknown as { object: string; id: string };
    assert.equal(sent.object, "EmailSent");
    const received = await inboxOf(meganId, "Conformance: attachments");
    const byName = new Map(received.attachments.map((a) => [a.name, a]));
    assert.equal(byName.get("small.pdf")?.mime, "application/pdf");
    for (const [name, bytes] of [
      ["small.pdf", small],
      ["big.bin", big],
    ] as const) {
      const blob = (await client.email.getEmailAttachment({
        email_id: received.id,
        attachment_id: byName.get(name)!.id,
      })) as Blob;
      assert.ok(Buffer.from(await blob.arrayBuffer()).equals(bytes), name);
    }
    const mine = (await client.email.getOne(sent.id)) as unknown as Email;
    assert.equal(mine.subject, "Conformance: attachments");
  });

  it("a reply sent with reply_to lands in the parent's thread_id on both sides", async () => {
    const parent = await inboxOf(meganId, "Conformance: attachments");
    const reply = (await client.email.send({
      account_id: meganId,
      to: [{ identifier: ADELE }],
      subject: "RE: Conformance: attachments",
      body: "Thanks!",
      reply_to: parent.id,
    })) as unknown as { id: string };
    const received = await inboxOf(adeleId, "RE: Conformance: attachments");
    const sentCopy = (await client.email.getOne(reply.id)) as unknown as Email;
    assert.ok(parent.thread_id);
    assert.equal(received.thread_id, parent.thread_id);
    assert.equal(sentCopy.thread_id, parent.thread_id);
  });

  it("mail sent through the API reads back with origin unipile and the send's tracking_id (get, list, after a move); the recipient's copy is external", async () => {
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Conformance: origin",
      body: "<p>Tracked</p>",
    })) as unknown as { id: string; tracking_id: string };
    const mine = await until("the sent copy in Sent Items", async () => {
      const email = (await client.email.getOne(sent.id)) as unknown as Email;
      return email.role === "sent" ? email : undefined;
    });
    assert.equal(mine.origin, "unipile");
    assert.equal(mine.tracking_id, sent.tracking_id);
    const listed = (await client.email.getAll({
      account_id: adeleId,
      role: "sent",
      limit: 10,
    })) as unknown as EmailList;
    const inList = listed.items.find((e) => e.id === sent.id);
    assert.equal(inList?.origin, "unipile");
    assert.equal(inList?.tracking_id, sent.tracking_id);
    // The SDK has no meta_only parameter: a meta page is asked for directly (checked against the OpenAPI subset at the end).
    const meta = (await (
      await fetch(`${h.baseUrl}/api/v1/emails?account_id=${adeleId}&role=sent&limit=10&meta_only=true`, {
        headers: { "x-api-key": h.t.apiKey },
      })
    ).json()) as EmailList;
    const metaItem = meta.items.find((e) => e.id === sent.id);
    assert.equal(metaItem?.kind, "1_meta");
    assert.equal(metaItem?.tracking_id, sent.tracking_id);
    // The SDK's update body arrives as `[object Object]` (reference §1.2), so the move goes as JSON.
    const move = await fetch(`${h.baseUrl}/api/v1/emails/${sent.id}`, {
      method: "PUT",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ folders: ["Archive"] }),
    });
    assert.equal(move.status, 200);
    const moved = (await client.email.getOne(sent.id)) as unknown as Email;
    assert.equal(moved.role, "archive");
    assert.equal(moved.tracking_id, sent.tracking_id, "the mark is on the message: it survives a move");
    const received = await inboxOf(meganId, "Conformance: origin");
    assert.equal(received.origin, "external");
    assert.equal("tracking_id" in received, false);
    const others = (await client.email.getAll({
      account_id: adeleId,
      role: "inbox",
      limit: 5,
    })) as unknown as EmailList;
    for (const email of others.items) assert.equal(email.origin, "external", String(email.subject));
  });

  it("replies name their parent: in_reply_to {message_id, id} on the sent reply and the received one; an unknown parent is left out", async () => {
    const parent = await inboxOf(meganId, "Conformance: attachments");
    const adeleSent = (await client.email.getAll({
      account_id: adeleId,
      role: "sent",
      limit: 25,
    })) as unknown as EmailList;
    const original = adeleSent.items.find((e) => e.subject === "Conformance: attachments");
    assert.ok(original, "Adele's sent copy of the parent");
    const reply = (await client.email.send({
      account_id: meganId,
      to: [{ identifier: ADELE }],
      subject: "RE: Conformance: parent",
      body: "Replying",
      reply_to: parent.id,
    })) as unknown as { id: string };
    const sentReply = await until("the reply in Sent Items", async () => {
      const email = (await client.email.getOne(reply.id)) as unknown as Email;
      return email.role === "sent" ? email : undefined;
    });
    assert.deepEqual(sentReply.in_reply_to, { message_id: parent.message_id, id: parent.id });
    const received = await inboxOf(adeleId, "RE: Conformance: parent");
    assert.deepEqual(received.in_reply_to, { message_id: original.message_id, id: original.id });
    const one = (await client.email.getOne(received.id)) as unknown as Email;
    assert.deepEqual(one.in_reply_to, received.in_reply_to);

    const stranger = await fetch(`${h.sandbox.url}/_sandbox/mail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        from: "someone@fabrikam.example",
        to: [ADELE],
        subject: "RE: something Adele never had",
        body: "hello",
        in_reply_to: "<not-in-this-mailbox@fabrikam.example>",
      }),
    });
    assert.equal(stranger.status, 201);
    const orphan = await inboxOf(adeleId, "RE: something Adele never had");
    assert.equal("in_reply_to" in orphan, false, "Unipile's in_reply_to needs the parent's id");
    const plain = await inboxOf(meganId, "Conformance: origin");
    assert.equal("in_reply_to" in plain, false);
  });

  it("update (unread, move) and delete through both id forms keep the email's id", async () => {
    const list = (await client.email.getAll({
      account_id: adeleId,
      role: "inbox",
      limit: 3,
    })) as unknown as EmailList;
    const [a, b] = [list.items[1]!, list.items[2]!];
    assert.equal(
      ((await client.email.update({ email_id: a.id, unread: true })) as unknown as { object: string }).object,
      "EmailUpdated",
    );
    await client.email.update.byProviderId({
      email_provider_id: b.provider_id,
      account_id: adeleId,
      unread: false,
    });
    // The SDK's update body arrives as `[object Object]` (reference §1.2), so a move goes as JSON.
    const move = await fetch(`${h.baseUrl}/api/v1/emails/${a.id}`, {
      method: "PUT",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ folders: ["Archive"] }),
    });
    assert.equal(move.status, 200);
    assert.equal(((await client.email.getOne(a.id)) as unknown as Email).role, "archive");
    assert.equal(((await client.email.delete(a.id)) as unknown as { object: string }).object, "EmailDeleted");
    assert.equal(((await client.email.getOne(a.id)) as unknown as Email).role, "trash");
    await client.email.delete.byProviderId(b.provider_id, adeleId);
    const trashed = (await client.email.getOne.byProviderId(b.provider_id, adeleId)) as unknown as Email;
    assert.deepEqual([trashed.id, trashed.role], [b.id, "trash"]);
  });

  it("a draft created with POST /api/v1/drafts matches the OpenAPI DraftCreated", async () => {
    const res = await fetch(`${h.baseUrl}/api/v1/drafts`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ account_id: adeleId, to: [{ identifier: MEGAN }], body: "later" }),
    });
    assert.equal(res.status, 200);
  });

  it("every JSON answer Mailroom gave matches the OpenAPI subset's schema for its operation and status", () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(OPENAPI, "openapi");
    const operations = new Set<string>();
    let checked = 0;
    for (const entry of recorded) {
      if (entry.body === undefined) continue;
      const template = operationFor(entry.method, entry.path);
      assert.ok(template, `${entry.method} ${entry.path} is an operation of the subset`);
      const pointer = [
        "paths",
        template,
        entry.method.toLowerCase(),
        "responses",
        String(entry.status),
        "content",
        "application/json",
        "schema",
      ]
        .map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1"))
        .join("/");
      const validate = ajv.getSchema(`openapi#/${pointer}`);
      assert.ok(validate, `a schema for ${entry.method} ${template} ${entry.status}`);
      assert.ok(
        validate(entry.body),
        `${entry.method} ${entry.path} ${entry.status}: ${ajv.errorsText(validate.errors)}`,
      );
      operations.add(`${entry.method} ${template}`);
      checked++;
    }
    for (const op of [
      "GET /api/v1/emails",
      "GET /api/v1/emails/{email_id}",
      "PUT /api/v1/emails/{email_id}",
      "DELETE /api/v1/emails/{email_id}",
      "POST /api/v1/emails",
      "GET /api/v1/folders",
      "GET /api/v1/folders/{folder_id}",
      "POST /api/v1/drafts",
    ])
      assert.ok(operations.has(op), `${op} was exercised and checked`);
    assert.ok(checked > 20);
  });
});
