// GET /api/v1/emails/{id}/raw (docs/raw-message.md): the message as RFC 822, streamed from Graph's
// `$value` byte for byte, for received and sent mail; 404 in Unipile's shape for a message deleted
// meanwhile; the mailbox limiter slot held while the body flows and freed when the client goes away.
// Against the sandbox over HTTP with real SQLite.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { KeyedLimiter } from "../src/providers/microsoft/limiter.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
type Item = { id: string; provider_id: string; message_id: string; subject: string };

describe("GET /api/v1/emails/{id}/raw", () => {
  let h: ConnectHarness;
  let accountId: string;
  const limiter = new KeyedLimiter();
  const store = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
  const big = Buffer.alloc(12 * 1024 * 1024, 0x61);

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${h.baseUrl}${path}`, { ...init, headers: { "x-api-key": h.t.apiKey } });
  const list = async (query: string) =>
    ((await (await get(`/api/v1/emails?account_id=${accountId}&${query}`)).json()) as { items: Item[] })
      .items;
  const direct = async (providerId: string) => {
    const token = [...h.sandbox.state.accessTokens.values()].find((t) => !t.revoked)!.token;
    const res = await fetch(`${h.sandbox.url}/v1.0/me/messages/${encodeURIComponent(providerId)}/$value`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    h = await startConnectHarness("sqlite", { limits: { mailboxLimiter: limiter } });
    accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const mailbox = store();
    const at = Date.parse("2025-07-01T12:00:00Z");
    mailbox.insertMessage(mailbox.wellKnownFolder("inbox").id, {
      subject: "Contract draft",
      body: { contentType: "html", content: "<p>The <b>contract</b> is attached.</p>" },
      from: { name: "Megan Bowen", address: "meganb@fabrikam.com" },
      toRecipients: [{ name: "Adele Vance", address: ADELE }],
      internetMessageId: "<contract-7@fabrikam.com>",
      inReplyTo: "<contract-6@fabrikam.com>",
      receivedAt: at,
      sentAt: at - 1000,
      attachments: [
        {
          key: "c",
          name: "contract.pdf",
          contentType: "application/pdf",
          content: Buffer.from("%PDF-1.4 contract"),
          contentId: null,
          contentLocation: null,
          isInline: false,
          lastModifiedAt: at,
        },
      ],
    });
    mailbox.insertMessage(mailbox.wellKnownFolder("sentitems").id, {
      subject: "Re: Contract draft",
      body: { contentType: "text", content: "Signed." },
      from: { name: "Adele Vance", address: ADELE },
      toRecipients: [{ name: "Megan Bowen", address: "meganb@fabrikam.com" }],
      internetMessageId: "<reply-8@contoso.com>",
      inReplyTo: "<contract-7@fabrikam.com>",
      receivedAt: at + 60_000,
      sentAt: at + 60_000,
    });
    mailbox.insertMessage(mailbox.wellKnownFolder("archive").id, {
      subject: "Large scan",
      body: { contentType: "text", content: "Scan attached." },
      from: { name: "Scanner", address: "scanner@contoso.onmicrosoft.com" },
      toRecipients: [{ name: "Adele Vance", address: ADELE }],
      receivedAt: at - 60_000,
      attachments: [
        {
          key: "s",
          name: "scan.tif",
          contentType: "image/tiff",
          content: big,
          contentId: null,
          contentLocation: null,
          isInline: false,
          lastModifiedAt: at,
        },
      ],
    });
  });
  after(async () => {
    await h.dispose();
  });

  it("received and sent mail come back as message/rfc822, byte for byte Graph's $value", async () => {
    for (const role of ["inbox", "sent"]) {
      const [email] = await list(`role=${role}&limit=1`);
      assert.ok(email, role);
      const res = await get(`/api/v1/emails/${email.id}/raw`);
      assert.equal(res.status, 200, role);
      assert.equal(res.headers.get("content-type"), "message/rfc822");
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.ok(bytes.equals(await direct(email.provider_id)), `${role}: the bytes Graph sent`);
      const parsed = await simpleParser(bytes);
      assert.equal(parsed.messageId, email.message_id);
      assert.equal(parsed.subject, email.subject);
    }
    const [received] = await list("role=inbox&limit=1");
    const parsed = await simpleParser(
      Buffer.from(
        await (
          await get(`/api/v1/emails/${encodeURIComponent(received!.provider_id)}/raw?account_id=${accountId}`)
        ).arrayBuffer(),
      ),
    );
    assert.equal(parsed.inReplyTo, "<contract-6@fabrikam.com>");
    assert.equal(parsed.attachments[0]?.filename, "contract.pdf");
  });

  it("a message deleted meanwhile, or an unknown id, is a 404 in Unipile's shape", async () => {
    const [sent] = await list("role=sent&limit=1");
    const record = store().all.find((m) => m.subject === "Re: Contract draft")!;
    store().purge(record);
    const res = await get(`/api/v1/emails/${sent!.id}/raw`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = (await res.json()) as { status: number; type: string; title: string };
    assert.equal(body.status, 404);
    assert.equal(body.type, "errors/resource_not_found");
    assert.equal(body.title, "Not Found");
    const unknown = await get(`/api/v1/emails/nope/raw?account_id=${accountId}`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { type: string }).type, "errors/resource_not_found");
  });

  it("holds the mailbox's limiter slot while the body flows, and a client that goes away frees it", async () => {
    const [scan] = await list("role=archive&limit=1");
    assert.equal(scan?.subject, "Large scan");
    const whole = await get(`/api/v1/emails/${scan.id}/raw`);
    const size = (await whole.arrayBuffer()).byteLength;
    assert.ok(size > big.length, "the whole message, base64 attachment included");
    await until("the slot is back after a whole read", () => limiter.inUse(accountId) === 0);

    const abort = new AbortController();
    const res = await get(`/api/v1/emails/${scan.id}/raw`, { signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.byteLength > 0);
    // The client reads no further: back-pressure keeps the upstream body open, and its slot held.
    assert.equal(limiter.inUse(accountId), 1, "one slot held while streaming");
    abort.abort();
    await until("the slot is freed once the client went away", () => limiter.inUse(accountId) === 0);
    // The mailbox still answers: nothing leaked.
    const again = await get(`/api/v1/emails/${scan.id}/raw`);
    assert.equal((await again.arrayBuffer()).byteLength, size);
  });

  it("HEAD answers the headers; the response closing as Graph's body ends harms no pooled socket", async () => {
    // Fastify drains a HEAD's stream; in-process (light-my-request) the response closes before it has
    // finished, which cancels the upstream call just as Graph's answer ends. Cancelling then once
    // destroyed the socket already back in the pool, with an error nobody listened to.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const [first] = await list("limit=1");
      for (let i = 0; i < 5; i++) {
        const res = await h.app.inject({
          method: "HEAD",
          url: `/api/v1/emails/${first!.id}/raw`,
          headers: { "x-api-key": h.t.apiKey },
        });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers["content-type"], "message/rfc822");
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await get(`/api/v1/emails/${first!.id}/raw`)).status, 200);
      await until("the slot is back", () => limiter.inUse(accountId) === 0);
      assert.deepEqual(uncaught, []);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});

describe("GET /api/v1/emails/{id}/raw through an injected fetch (the stream's fetch transport)", () => {
  let h: ConnectHarness;
  after(async () => {
    await h?.dispose();
  });
  it("streams the same bytes as Graph's $value, and 404s a deleted message", async () => {
    h = await startConnectHarness("sqlite", { fetch: (input, init) => fetch(input, init) });
    const accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const mailbox = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
    const record = mailbox.insertMessage(mailbox.wellKnownFolder("inbox").id, {
      subject: "Through fetch",
      body: { contentType: "html", content: "<p>hello</p>" },
      from: { name: "Megan Bowen", address: "meganb@fabrikam.com" },
      toRecipients: [{ name: "Adele Vance", address: ADELE }],
    });
    const url = `${h.baseUrl}/api/v1/emails/${encodeURIComponent(record.immutableId)}/raw?account_id=${accountId}`;
    const res = await fetch(url, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(res.status, 200);
    const parsed = await simpleParser(Buffer.from(await res.arrayBuffer()));
    assert.equal(parsed.subject, "Through fetch");
    assert.equal(parsed.messageId, record.internetMessageId);
    mailbox.purge(record);
    const gone = await fetch(url, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { type: string }).type, "errors/resource_not_found");
  });
});
