// The send side (POST /api/v1/emails, POST /api/v1/drafts) against the sandbox's Graph over HTTP:
// happy paths through the SDK's multipart and through JSON, then every documented error.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

type Sent = { object: string; tracking_id: string; id: string; provider_id: string };
type Email = Record<string, unknown> & { id: string; subject: string; role: string; thread_id?: string };

describe("email API (send side)", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;

  const api = (method: string, url: string, body?: unknown) =>
    fetch(`${h.baseUrl}${url}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined && !(body instanceof FormData) ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: body instanceof FormData ? body : JSON.stringify(body) } : {}),
    });
  const errorOf = async (res: Response) => ({
    status: res.status,
    ...((await res.json()) as { type: string; detail?: string }),
  });
  const store = (email: string) => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(email)!.id);
  const inboxOf = async (accountId: string, subject: string) =>
    until(`"${subject}" in the recipient's inbox`, async () => {
      const list = (await client.email.getAll({
        account_id: accountId,
        role: "inbox",
        limit: 20,
      })) as unknown as {
        items: Email[];
      };
      return list.items.find((e) => e.subject === subject);
    });

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    const ids = await h.connectMailboxes([ADELE, MEGAN]);
    adeleId = ids[ADELE]!;
    meganId = ids[MEGAN]!;
  });
  after(async () => {
    await h.dispose();
  });

  it("the SDK's multipart send answers 201 EmailSent whose id reads back the sent message in Sent Items", async () => {
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN, display_name: "Megan" }],
      cc: [{ identifier: "someone@example.com" }],
      subject: "Quarterly numbers",
      body: "<p>Hello <b>Megan</b></p>",
      custom_headers: [{ name: "X-Campaign", value: "q3" }],
      tracking_options: { opens: true, links: true, label: "q3" },
      attachments: [["notes.txt", Buffer.from("plain notes")]],
    })) as unknown as Sent;
    assert.equal(sent.object, "EmailSent");
    assert.ok(sent.tracking_id.length > 0);
    assert.ok(sent.id.startsWith(`${adeleId}.`));
    assert.equal(sent.id, `${adeleId}.${sent.provider_id}`);
    const mine = await until("the sent copy", async () => {
      const email = (await client.email.getOne(sent.id)) as unknown as Email;
      return email.role === "sent" ? email : undefined;
    });
    assert.equal(mine.subject, "Quarterly numbers");
    const attachments = mine.attachments as { name: string; mime: string; size: number }[];
    assert.deepEqual(
      attachments.map((a) => [a.name, a.mime, a.size]),
      [["notes.txt", "text/plain", 11]],
    );
    const received = await inboxOf(meganId, "Quarterly numbers");
    assert.match(String(received.body), /Hello <b>Megan<\/b>/);
    const full = (await client.email.getOne(received.id, {
      extra_params: { include_headers: "true" },
    })) as unknown as {
      headers: { name: string; value: string }[];
    };
    assert.ok(full.headers.some((x) => x.name === "X-Campaign" && x.value === "q3"));
  });

  it("JSON sends are accepted too, with base64 attachments; a text body stays text", async () => {
    const res = await api("POST", "/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "JSON send",
      body: "just text",
      attachments: [{ filename: "a.csv", content: Buffer.from("x,y\n1,2\n").toString("base64") }],
    });
    assert.equal(res.status, 201, await res.clone().text());
    const sent = (await res.json()) as Sent;
    const record = await until("the sent record", async () => {
      const m = store(ADELE).resolveMessage(sent.provider_id);
      return m && !m.isDraft ? m : undefined;
    });
    assert.equal(record.body.contentType, "text");
    assert.equal(record.attachments[0]?.contentType, "text/csv");
  });

  it("an attachment above 3 MB goes through an upload session and arrives byte for byte", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Big file",
      body: "see attached",
      attachments: [["big.bin", big]],
    })) as unknown as Sent;
    assert.equal(sent.object, "EmailSent");
    const received = await inboxOf(meganId, "Big file");
    const att = (received.attachments as { id: string; size: number }[])[0]!;
    assert.equal(att.size, big.length);
    const blob = (await client.email.getEmailAttachment({
      email_id: received.id,
      attachment_id: att.id,
    })) as Blob;
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(big));
  });

  it("reply_to (Mailroom id or provider id) sends a reply in the parent's thread", async () => {
    await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Lunch?",
      body: "Friday?",
    });
    const parent = await inboxOf(meganId, "Lunch?");
    const reply = (await client.email.send({
      account_id: meganId,
      to: [{ identifier: ADELE }],
      subject: "RE: Lunch?",
      body: "Yes, Friday works.",
      reply_to: parent.id,
    })) as unknown as Sent;
    const inAdele = await inboxOf(adeleId, "RE: Lunch?");
    const sentCopy = (await client.email.getOne(reply.id)) as unknown as Email;
    assert.equal(sentCopy.thread_id, parent.thread_id);
    assert.equal(inAdele.thread_id, parent.thread_id);
    const byProvider = await api("POST", "/api/v1/emails", {
      account_id: meganId,
      to: [{ identifier: ADELE }],
      body: "and again",
      reply_to: String(parent.provider_id),
    });
    assert.equal(byProvider.status, 201);
  });

  it("POST /api/v1/drafts answers DraftCreated; the draft sits in Drafts and can then be sent by draft_id", async () => {
    const res = await api("POST", "/api/v1/drafts", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Draft only",
      body: "<p>later</p>",
    });
    assert.equal(res.status, 200);
    const draft = (await res.json()) as { object: string; draft_id: string };
    assert.equal(draft.object, "DraftCreated");
    const email = (await client.email.getOne(draft.draft_id)) as unknown as Email;
    assert.equal(email.role, "drafts");
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Draft only",
      body: "<p>now</p>",
      draft_id: draft.draft_id,
    })) as unknown as Sent;
    assert.equal(sent.id, draft.draft_id);
    await inboxOf(meganId, "Draft only");
  });

  it("a missing account_id, to or body is 400 naming the field", async () => {
    for (const [field, body] of [
      ["account_id", { to: [{ identifier: MEGAN }], body: "x" }],
      ["to", { account_id: adeleId, body: "x" }],
      ["to", { account_id: adeleId, to: [], body: "x" }],
      ["body", { account_id: adeleId, to: [{ identifier: MEGAN }] }],
    ] as const) {
      const err = await errorOf(await api("POST", "/api/v1/emails", body));
      assert.equal(err.status, 400, field);
      assert.equal(err.type, "errors/missing_parameters");
      assert.match(String(err.detail), new RegExp(`^${field}`));
    }
    const form = new FormData();
    form.append("body", "x");
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    const err = await errorOf(await api("POST", "/api/v1/emails", form));
    assert.deepEqual([err.status, err.type], [400, "errors/missing_parameters"]);
    assert.match(String(err.detail), /account_id/);
  });

  it("a bad recipient is 422 errors/invalid_recipient and leaves no draft behind", async () => {
    const drafts = store(ADELE).all.filter((m) => m.isDraft).length;
    const err = await errorOf(
      await api("POST", "/api/v1/emails", {
        account_id: adeleId,
        to: [{ identifier: "not an address" }],
        body: "x",
      }),
    );
    assert.deepEqual([err.status, err.type], [422, "errors/invalid_recipient"]);
    assert.equal(store(ADELE).all.filter((m) => m.isDraft).length, drafts);
  });

  it("an unknown reply_to is 422 errors/parent_mail_not_found", async () => {
    for (const replyTo of [
      `${adeleId}.AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0ANOSUCHMAIL00000000=`,
      `${meganId}.AAMkAGI=`,
      "a/b",
    ]) {
      const err = await errorOf(
        await api("POST", "/api/v1/emails", {
          account_id: adeleId,
          to: [{ identifier: MEGAN }],
          body: "x",
          reply_to: replyTo,
        }),
      );
      assert.deepEqual([err.status, err.type], [422, "errors/parent_mail_not_found"], replyTo);
    }
  });

  it("a message above Microsoft's limit is 400 errors/content_too_large", async () => {
    store(ADELE).maxMessageBytes = 4 * 1024 * 1024;
    try {
      const err = await errorOf(
        await api("POST", "/api/v1/emails", {
          account_id: adeleId,
          to: [{ identifier: MEGAN }],
          body: "x",
          attachments: [
            ["one.bin", Buffer.alloc(2_500_000).toString("base64")],
            ["two.bin", Buffer.alloc(2_500_000).toString("base64")],
          ],
        }),
      );
      assert.deepEqual([err.status, err.type], [400, "errors/content_too_large"]);
    } finally {
      store(ADELE).maxMessageBytes = 150 * 1024 * 1024;
    }
  });

  it("a header the message is built from is 422 errors/invalid_headers; Reply-To sets the reply address", async () => {
    const err = await errorOf(
      await api("POST", "/api/v1/emails", {
        account_id: adeleId,
        to: [{ identifier: MEGAN }],
        body: "x",
        custom_headers: [{ name: "Subject", value: "other" }],
      }),
    );
    assert.deepEqual([err.status, err.type], [422, "errors/invalid_headers"]);
    const ok = await api("POST", "/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "With Reply-To",
      body: "x",
      custom_headers: [{ name: "Reply-To", value: "team@contoso.onmicrosoft.com" }],
    });
    assert.equal(ok.status, 201);
    const received = await inboxOf(meganId, "With Reply-To");
    assert.deepEqual(
      (received.reply_to_attendees as { identifier: string }[]).map((a) => a.identifier),
      ["team@contoso.onmicrosoft.com"],
    );
  });

  it("without the Mail.Send permission the send is 403 errors/insufficient_permissions", async () => {
    const user = h.sandbox.state.userByEmail(ADELE)!;
    const tokens = [...h.sandbox.state.accessTokens.values()].filter((t) => t.userId === user.id);
    for (const token of tokens) token.scopes = token.scopes.filter((s) => s !== "Mail.Send");
    try {
      const err = await errorOf(
        await api("POST", "/api/v1/emails", { account_id: adeleId, to: [{ identifier: MEGAN }], body: "x" }),
      );
      assert.deepEqual([err.status, err.type], [403, "errors/insufficient_permissions"]);
    } finally {
      for (const token of tokens) token.scopes.push("Mail.Send");
    }
  });

  it("an unknown account is 404", async () => {
    const err = await errorOf(
      await api("POST", "/api/v1/emails", {
        account_id: "AAAAAAAAAAAAAAAAAAAAAA",
        to: [{ identifier: MEGAN }],
        body: "x",
      }),
    );
    assert.deepEqual([err.status, err.type], [404, "errors/resource_not_found"]);
  });
});
