// custom_headers beyond X- (Unipile parity): List-Unsubscribe and List-Unsubscribe-Post (RFC 8058)
// go out by creating the draft from MIME, with attachments (upload sessions included), replies
// threaded as createReply would, and Mailroom's sent mark, and reach the recipient's copy. Headers
// the message is built from, and malformed ones, are 422 errors/invalid_headers naming them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const UNSUBSCRIBE =
  "<https://news.example.com/unsubscribe/opaque-4f2a>, <mailto:unsubscribe@news.example.com?subject=stop>";
const ONE_CLICK = "List-Unsubscribe=One-Click";

type Sent = { object: string; tracking_id: string; id: string; provider_id: string };
type Email = Record<string, unknown> & {
  id: string;
  subject: string;
  role: string;
  thread_id?: string;
  message_id: string;
  headers?: { name: string; value: string }[];
  attachments: { name: string; size: number }[];
};

describe("custom_headers beyond X- go out as MIME", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;

  const api = (url: string, body: unknown) =>
    fetch(`${h.baseUrl}${url}`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const inboxOf = (accountId: string, subject: string) =>
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
  const header = (email: Email, name: string) =>
    email.headers?.filter((x) => x.name.toLowerCase() === name.toLowerCase()).map((x) => x.value);

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

  it("an SDK reply with List-Unsubscribe, List-Unsubscribe-Post and attachments reaches the recipient with them, threaded, with its sent mark", async () => {
    await client.email.send({
      account_id: meganId,
      to: [{ identifier: ADELE }],
      subject: "Newsletter signup",
      body: "Sign me up",
    });
    const parent = await inboxOf(adeleId, "Newsletter signup");
    const large = Buffer.alloc(3_500_000, 7); // an upload session on the MIME-created draft
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN, display_name: "Megan Bowen" }],
      body: '<p>Welcome aboard — <a href="https://news.example.com">news</a></p>',
      reply_to: parent.id,
      custom_headers: [
        { name: "List-Unsubscribe", value: UNSUBSCRIBE },
        { name: "List-Unsubscribe-Post", value: ONE_CLICK },
        { name: "X-Campaign", value: "welcome" },
        { name: "Reply-To", value: "news@contoso.onmicrosoft.com" },
      ],
      attachments: [
        ["terms.txt", Buffer.from("the terms")],
        ["big.bin", large],
      ],
    })) as unknown as Sent;
    assert.equal(sent.object, "EmailSent");
    assert.equal(sent.id, `${adeleId}.${sent.provider_id}`);

    // The sender's copy: the EmailSent id, the mark (origin, tracking_id), threading as createReply.
    const mine = await until("the sent copy", async () => {
      const email = (await client.email.getOne(sent.id)) as unknown as Email;
      return email.role === "sent" ? email : undefined;
    });
    assert.equal(mine.origin, "unipile");
    assert.equal(mine.tracking_id, sent.tracking_id);
    assert.equal(mine.subject, "RE: Newsletter signup");
    assert.equal(mine.thread_id, parent.thread_id);
    assert.deepEqual(mine.in_reply_to, { message_id: parent.message_id, id: parent.id });

    // The recipient's copy, read through the API with headers, and in the sandbox's store.
    const theirs = await inboxOf(meganId, "RE: Newsletter signup");
    const full = (await client.email.getOne(theirs.id, {
      extra_params: { include_headers: "true" },
    })) as unknown as Email;
    assert.deepEqual(header(full, "List-Unsubscribe"), [UNSUBSCRIBE]);
    assert.deepEqual(header(full, "List-Unsubscribe-Post"), [ONE_CLICK]);
    assert.deepEqual(header(full, "X-Campaign"), ["welcome"]);
    assert.deepEqual(header(full, "In-Reply-To"), [parent.message_id]);
    assert.deepEqual(
      (full.reply_to_attendees as { identifier: string }[]).map((a) => a.identifier),
      ["news@contoso.onmicrosoft.com"],
    );
    assert.deepEqual(full.attachments.map((a) => [a.name, a.size]).sort(), [
      ["big.bin", large.length],
      ["terms.txt", 9],
    ]);
    assert.equal(full.thread_id, theirs.thread_id);
    const store = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(MEGAN)!.id);
    const stored = store.all.find((m) => m.subject === "RE: Newsletter signup")!;
    assert.ok(stored.headers.some((x) => x.name === "List-Unsubscribe-Post" && x.value === ONE_CLICK));
    assert.match(stored.body.content, /Welcome aboard/);
  });

  it("a new message with List-Unsubscribe (multipart, JSON-string headers) keeps the caller's subject and recipients", async () => {
    const sent = (await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      cc: [{ identifier: "someone@example.com" }],
      subject: "Monthly digest",
      body: "plain text digest",
      custom_headers: [{ name: "List-Unsubscribe", value: "<mailto:u@example.com>" }],
    })) as unknown as Sent;
    const theirs = await inboxOf(meganId, "Monthly digest");
    const full = (await client.email.getOne(theirs.id, {
      extra_params: { include_headers: "true" },
    })) as unknown as Email;
    assert.deepEqual(header(full, "List-Unsubscribe"), ["<mailto:u@example.com>"]);
    assert.deepEqual(
      (full.cc_attendees as { identifier: string }[]).map((a) => a.identifier),
      ["someone@example.com"],
    );
    assert.equal(full.body_plain, "plain text digest");
    const mine = (await client.email.getOne(sent.id)) as unknown as Email;
    assert.equal(mine.tracking_id, sent.tracking_id);
  });

  it("a draft with List-Unsubscribe is created from MIME and sent by draft_id", async () => {
    const draft = await api("/api/v1/drafts", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Drafted digest",
      body: "x",
      custom_headers: [{ name: "List-Unsubscribe", value: "<mailto:d@example.com>" }],
    });
    assert.equal(draft.status, 200);
    const { draft_id } = (await draft.json()) as { draft_id: string };
    const sent = await api("/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      body: "x",
      draft_id,
    });
    assert.equal(sent.status, 201, await sent.clone().text());
    const theirs = await inboxOf(meganId, "Drafted digest");
    const full = (await client.email.getOne(theirs.id, {
      extra_params: { include_headers: "true" },
    })) as unknown as Email;
    assert.deepEqual(header(full, "List-Unsubscribe"), ["<mailto:d@example.com>"]);
  });

  const refused: [string, { name: string; value: string }[], RegExp][] = [
    [
      "headers the message is built from",
      [
        { name: "From", value: "x@example.com" },
        { name: "to", value: "x@example.com" },
        { name: "Content-Type", value: "text/html" },
        { name: "Message-ID", value: "<a@b>" },
        { name: "In-Reply-To", value: "<a@b>" },
        { name: "References", value: "<a@b>" },
        { name: "MIME-Version", value: "1.0" },
        { name: "Date", value: "today" },
        { name: "Bcc", value: "x@example.com" },
        { name: "Content-Transfer-Encoding", value: "base64" },
      ],
      /"From" is set by Mailroom.*"to" is set.*"Content-Type".*"Message-ID".*"In-Reply-To".*"References".*"MIME-Version".*"Date".*"Bcc".*"Content-Transfer-Encoding"/,
    ],
    [
      "a name with a space, a colon or a non-ASCII letter",
      [
        { name: "List Unsubscribe", value: "x" },
        { name: "X-A:B", value: "x" },
        { name: "X-Tëst", value: "x" },
        { name: "", value: "x" },
      ],
      /"List Unsubscribe" is not a header name.*"X-A:B" is not a header name.*"X-Tëst" is not a header name.*"" is not a header name/,
    ],
    [
      "a value with CR or LF (header injection)",
      [
        { name: "List-Unsubscribe", value: "<mailto:a@b>\r\nBcc: victim@example.com" },
        { name: "X-Note", value: "a\nb" },
      ],
      /"List-Unsubscribe" has a line break.*"X-Note" has a line break/,
    ],
  ];
  for (const [name, headers, detail] of refused)
    it(`${name} are 422 errors/invalid_headers naming each`, async () => {
      const res = await api("/api/v1/emails", {
        account_id: adeleId,
        to: [{ identifier: MEGAN }],
        body: "x",
        custom_headers: headers,
      });
      assert.equal(res.status, 422);
      const body = (await res.json()) as { type: string; detail: string; status: number };
      assert.equal(body.type, "errors/invalid_headers");
      assert.equal(body.status, 422);
      assert.match(body.detail, detail);
    });

  it("List-Unsubscribe on an existing draft_id is 422: Microsoft takes such headers only when the message is created", async () => {
    const draft = await api("/api/v1/drafts", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "Plain draft",
      body: "x",
    });
    const { draft_id } = (await draft.json()) as { draft_id: string };
    const res = await api("/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      body: "x",
      draft_id,
      custom_headers: [{ name: "List-Unsubscribe", value: "<mailto:u@example.com>" }],
    });
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { detail: string }).detail, /existing draft_id/);
  });

  it("an unknown reply_to on the MIME path is 422 errors/parent_mail_not_found", async () => {
    const res = await api("/api/v1/emails", {
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      body: "x",
      reply_to: `${adeleId}.AAMkAGI2TG93AAA=`,
      custom_headers: [{ name: "List-Unsubscribe", value: "<mailto:u@example.com>" }],
    });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { type: string }).type, "errors/parent_mail_not_found");
  });
});
