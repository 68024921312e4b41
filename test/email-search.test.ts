// GET /api/v1/emails?search= (docs/search.md): Graph's `$search` with Graph's ranking, paged by
// Graph's token inside Mailroom's cursor; the filters Microsoft refuses beside it are a 400 naming
// them; results stay as correct as list results with the email cache on; the official SDK passes
// `search` through `extra_params` and validates the answer strictly. Against the sandbox over HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { decodeProviderId } from "../src/domain/email/email-ids.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

type Item = { id: string; provider_id: string; subject: string; thread_id: string };
type Body = { items?: Item[]; cursor?: string | null; type?: string; detail?: string; status?: number };

describe("GET /api/v1/emails?search=", () => {
  let h: ConnectHarness;
  let accountId: string;
  const store = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);
  const base = Date.parse("2025-05-01T09:00:00Z");

  const list = async (query: string) => {
    const res = await h.app.inject({
      method: "GET",
      url: `/api/v1/emails?account_id=${accountId}&${query}`,
      headers: { "x-api-key": h.t.apiKey },
    });
    return { status: res.statusCode, body: res.json() as Body };
  };
  const subjects = async (query: string) => {
    const res = await list(query);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items!.map((item) => item.subject);
  };
  const s = encodeURIComponent;

  before(async () => {
    h = await startConnectHarness("sqlite");
    accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const mailbox = store();
    const inbox = mailbox.wellKnownFolder("inbox");
    const archive = mailbox.wellKnownFolder("archive");
    const at = (minute: number) => ({ receivedAt: base + minute * 60_000, sentAt: base + minute * 60_000 });
    const conversationId = "AAQkADsearchthread";
    mailbox.insertMessage(inbox.id, {
      subject: "Invoice 1041 for March",
      body: { contentType: "html", content: "<p>Please find the invoice attached.</p>" },
      from: { name: "Megan Bowen", address: "meganb@fabrikam.com" },
      toRecipients: [{ name: "Adele Vance", address: ADELE }],
      conversationId,
      attachments: [
        {
          key: "inv",
          name: "invoice-1041.pdf",
          contentType: "application/pdf",
          content: Buffer.from("%PDF-1.4"),
          contentId: null,
          contentLocation: null,
          isInline: false,
          lastModifiedAt: base,
        },
      ],
      ...at(1),
    });
    mailbox.insertMessage(inbox.id, {
      subject: "Re: Invoice 1041 for March",
      body: { contentType: "text", content: "Paid today, thanks." },
      from: { name: "Adele Vance", address: ADELE },
      toRecipients: [{ name: "Megan Bowen", address: "meganb@fabrikam.com" }],
      conversationId,
      ...at(2),
    });
    mailbox.insertMessage(archive.id, {
      subject: "Old invoice reminder",
      body: { contentType: "text", content: "The quarterly invoice run is next week." },
      from: { name: "Finance", address: "finance@contoso.onmicrosoft.com" },
      toRecipients: [{ name: "Adele Vance", address: ADELE }],
      ...at(-60),
    });
    for (let index = 0; index < 5; index++)
      mailbox.insertMessage(inbox.id, {
        subject: `Team lunch ${index}`,
        body: { contentType: "text", content: "Pizza or sushi?" },
        from: { name: "Lee Gu", address: "leeg@fabrikam.com" },
        toRecipients: [{ name: "Adele Vance", address: ADELE }],
        ...at(-10 - index),
      });
  });
  after(async () => {
    await h.dispose();
  });

  it("finds words, phrases and KQL terms (from:, subject:, hasattachments:) ranked as Graph returns them", async () => {
    assert.deepEqual(await subjects(`search=invoice`), [
      "Re: Invoice 1041 for March",
      "Invoice 1041 for March",
      "Old invoice reminder",
    ]);
    assert.deepEqual(await subjects(`search=${s('"invoice run"')}`), ["Old invoice reminder"]);
    assert.deepEqual(await subjects(`search=${s("from:meganb@fabrikam.com")}`), ["Invoice 1041 for March"]);
    assert.deepEqual(await subjects(`search=${s("subject:reminder")}`), ["Old invoice reminder"]);
    assert.deepEqual(await subjects(`search=${s("hasattachments:true invoice")}`), [
      "Invoice 1041 for March",
    ]);
    // The order is Graph's, not Mailroom's: the same $search straight to Graph gives the same list.
    const token = [...h.sandbox.state.accessTokens.values()].find((t) => !t.revoked)!.token;
    const direct = (await (
      await fetch(`${h.sandbox.url}/v1.0/me/messages?$top=50&$search=${s('"pizza"')}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { value: { subject: string }[] };
    assert.deepEqual(
      await subjects(`search=pizza`),
      direct.value.map((m) => m.subject),
    );
  });

  it("pages by cursor: every match once, threads kept, the cursor carries the search", async () => {
    const seen: Item[] = [];
    let cursor: string | null | undefined;
    let first = true;
    let pages = 0;
    while (first || cursor) {
      const res = await list(first ? "search=pizza&limit=2" : `limit=2&cursor=${s(cursor!)}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.items!);
      cursor = res.body.cursor;
      first = false;
      pages++;
    }
    assert.equal(pages, 3);
    assert.equal(new Set(seen.map((i) => i.id)).size, 5);
    assert.ok(seen.every((i) => i.subject.startsWith("Team lunch")));
    const invoice = (await list("search=invoice")).body.items!;
    assert.equal(invoice[0]!.thread_id, invoice[1]!.thread_id, "thread_id on search results");
    const thread = await subjects(`thread_id=${s(invoice[0]!.thread_id)}`);
    assert.deepEqual(thread, ["Re: Invoice 1041 for March", "Invoice 1041 for March"]);
  });

  it("folder and role narrow a search (the path searched)", async () => {
    assert.deepEqual(await subjects("search=invoice&role=archive"), ["Old invoice reminder"]);
    assert.deepEqual(await subjects("search=invoice&folder=INBOX&meta_only=true"), [
      "Re: Invoice 1041 for March",
      "Invoice 1041 for March",
    ]);
  });

  it("the filters Microsoft refuses beside $search are a 400 naming them", async () => {
    for (const [query, names] of [
      ["before=2100-01-01T00:00:00.000Z", "before"],
      ["after=2000-01-01T00:00:00.000Z&from=a%40b.com", "from, after"],
      ["to=a%40b.com", "to"],
      ["any_email=a%40b.com", "any_email"],
      ["thread_id=t", "thread_id"],
      ["message_id=m", "message_id"],
      ["role=starred", "role=starred"],
      ["role=important", "role=important"],
    ] as const) {
      const res = await list(`search=invoice&${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.type, "errors/invalid_parameters");
      assert.match(String(res.body.detail), new RegExp(`^search: cannot be combined with ${names} `), query);
    }
  });

  it("a blank, over-long or unbalanced search is a 400; so is a forged search cursor", async () => {
    const long = await list(`search=${"a".repeat(4097)}`);
    assert.equal(long.status, 400);
    assert.equal(long.body.type, "errors/too_many_characters");
    const quote = await list(`search=${s('subject:"invoice')}`);
    assert.equal(quote.status, 400);
    assert.match(String(quote.body.detail), /^search: unbalanced double quotes/);
    assert.equal((await list(`search=${s("   ")}`)).status, 400);
    const forge = (state: Record<string, unknown>) =>
      s(Buffer.from(JSON.stringify({ account_id: accountId, limit: 2, ...state })).toString("base64"));
    const page = { last_id: "", last_date: "", seen: [] };
    for (const state of [
      { search: "x", cursor: { ...page, token: "$top=5" } },
      { cursor: { ...page, token: "$skiptoken=abc" } },
      { search: "x", before: "2100-01-01T00:00:00.000Z", cursor: page },
      { search: 'a"b', cursor: page },
    ]) {
      const res = await list(`cursor=${forge(state)}`);
      assert.equal(res.status, 400, JSON.stringify(state));
    }
  });

  it("with the email cache on, a search answers what Graph holds now (a change behind Mailroom's back shows)", async () => {
    const query = "search=pizza&limit=5";
    const before = await subjects(query);
    await subjects(query);
    const target = (await list(query)).body.items![2]!;
    const record = store().all.find((m) => m.immutableId === decodeProviderId(target.provider_id))!;
    store().updateMessage(record, (m) => {
      m.subject = "Lunch moved (pizza)";
    });
    const after = await subjects(query);
    assert.equal(after[2], "Lunch moved (pizza)");
    assert.deepEqual(
      after.filter((_, i) => i !== 2),
      before.filter((_, i) => i !== 2),
    );
    store().updateMessage(record, (m) => {
      m.body = { contentType: "text", content: "Cancelled." };
      m.subject = "Lunch cancelled";
    });
    assert.ok(
      !(await subjects(query)).includes("Lunch cancelled"),
      "a message that no longer matches drops out",
    );
  });

  it("the official SDK sends search through extra_params and validates the answer strictly", async () => {
    const client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const page = (await client.email.getAll(
      { account_id: accountId, limit: 1 },
      { extra_params: { search: "invoice" } },
    )) as { object: string; items: Item[]; cursor: string | null };
    assert.equal(page.object, "EmailList");
    assert.equal(page.items.length, 1);
    assert.ok(page.cursor);
    const next = (await client.email.getAll({ account_id: accountId, cursor: page.cursor, limit: 1 })) as {
      items: Item[];
    };
    assert.equal(next.items.length, 1);
    assert.notEqual(next.items[0]!.id, page.items[0]!.id);
  });
});
