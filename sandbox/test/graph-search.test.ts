// `$search` on messages as Graph documents it ("Use the $search query parameter"): the value in
// double quotes, default fields from/subject/body, KQL property terms and phrases, results sorted by
// sent date, at most 1,000, paged by `$skiptoken`; `$orderby` and `$filter` refused beside it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, type Page, startGraphHarness } from "./graph-helpers.ts";

const q = (value: string) => encodeURIComponent(value);

describe("Graph mail: $search", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let token: string;
  const base = Date.parse("2025-04-01T08:00:00Z");

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    token = h.token(alice);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const inbox = store.wellKnownFolder("inbox");
    const sent = store.wellKnownFolder("sentitems");
    const at = (minute: number) => ({ receivedAt: base + minute * 60_000, sentAt: base + minute * 60_000 });
    store.insertMessage(inbox.id, {
      subject: "Pizza party on Friday",
      body: { contentType: "html", content: "<p>Bring <b>napkins</b>, please.</p>" },
      from: { name: "Randi Welch", address: "randiw@fabrikam.com" },
      toRecipients: [{ name: "Alice", address: alice.email }],
      ...at(1),
    });
    store.insertMessage(inbox.id, {
      subject: "Quarterly numbers",
      body: { contentType: "text", content: "The pizza budget is over." },
      from: { name: "Dana Swope", address: "danas@fabrikam.com" },
      toRecipients: [{ name: "Alice", address: alice.email }],
      ccRecipients: [{ name: "Samantha Booth", address: "samanthab@fabrikam.com" }],
      attachments: [
        {
          key: "a1",
          name: "budget.xlsx",
          contentType: "application/vnd.ms-excel",
          content: Buffer.from("x"),
          contentId: null,
          contentLocation: null,
          isInline: false,
          lastModifiedAt: base,
        },
      ],
      ...at(3),
    });
    store.insertMessage(sent.id, {
      subject: "Re: party",
      body: { contentType: "text", content: "See you at the party." },
      from: { name: "Alice", address: alice.email },
      toRecipients: [{ name: "Randi Welch", address: "randiw@fabrikam.com" }],
      ...at(2),
    });
    // Many alike, to page and to reach the 1,000 cap.
    for (let index = 0; index < 1005; index++)
      store.insertMessage(inbox.id, {
        subject: `Newsletter ${index}`,
        body: { contentType: "text", content: "weekly digest" },
        from: { name: "News", address: "news@contoso.com" },
        toRecipients: [{ name: "Alice", address: alice.email }],
        receivedAt: base - (index + 1) * 60_000,
        sentAt: base - (index + 1) * 60_000,
      });
  });
  after(async () => h.sandbox.close());

  const subjects = async (search: string, path = "/me/messages") =>
    (await h.json<Page>(token, `${path}?$top=50&$search=${q(search)}`)).value.map((m) => m.subject);

  test("a word matches the default fields (from, subject, body), newest sent first", async () => {
    assert.deepEqual(await subjects('"pizza"'), ["Quarterly numbers", "Pizza party on Friday"]);
    assert.deepEqual(await subjects('"randi"'), ["Pizza party on Friday"]);
    // Recipients are not a default field: only to:/cc:/recipients:/participants: reach them.
    assert.deepEqual(await subjects('"samanthab"'), []);
  });

  test("KQL property terms: from, to, cc, recipients, participants, subject, body, hasAttachments, attachment", async () => {
    assert.deepEqual(await subjects('"from:danas@fabrikam.com"'), ["Quarterly numbers"]);
    assert.deepEqual(await subjects('"to:randiw"'), ["Re: party"]);
    assert.deepEqual(await subjects('"cc:samantha"'), ["Quarterly numbers"]);
    assert.deepEqual(await subjects('"recipients:samanthab"'), ["Quarterly numbers"]);
    assert.deepEqual(await subjects('"participants:randiw"'), ["Re: party", "Pizza party on Friday"]);
    assert.deepEqual(await subjects('"subject:party"'), ["Re: party", "Pizza party on Friday"]);
    assert.deepEqual(await subjects('"body:napkins"'), ["Pizza party on Friday"]);
    assert.deepEqual(await subjects('"hasAttachments:true"'), ["Quarterly numbers"]);
    assert.deepEqual(await subjects('"attachment:budget.xlsx"'), ["Quarterly numbers"]);
  });

  test("phrases in escaped quotes, words ANDed, OR between groups", async () => {
    assert.deepEqual(await subjects('"\\"pizza party\\""'), ["Pizza party on Friday"]);
    assert.deepEqual(await subjects('"pizza budget"'), ["Quarterly numbers"]);
    assert.deepEqual(await subjects('"napkins OR budget"'), ["Quarterly numbers", "Pizza party on Friday"]);
  });

  test("a folder's messages can be searched", async () => {
    assert.deepEqual(await subjects('"party"', "/me/mailFolders/sentitems/messages"), ["Re: party"]);
  });

  test("the value must be in double quotes, balanced, not empty", async () => {
    for (const bad of ["pizza", '"subject:\\"pizza"', '"pi"zza"', '""']) {
      const response = await h.call(token, `/me/messages?$search=${q(bad)}`);
      assert.equal(response.status, 400, bad);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, "BadRequest");
    }
  });

  test("$orderby and $filter are refused beside $search, with Graph's codes and messages", async () => {
    const ordered = await h.call(
      token,
      `/me/messages?$search=${q('"pizza"')}&$orderby=receivedDateTime desc`,
    );
    assert.equal(ordered.status, 400);
    const orderBody = (await ordered.json()) as { error: { code: string; message: string } };
    assert.equal(orderBody.error.code, "SearchWithOrderBy");
    assert.equal(orderBody.error.message, "The query parameter '$orderBy' is not supported with '$search'.");
    const filtered = await h.call(
      token,
      `/me/messages?$search=${q('"pizza"')}&$filter=${q("receivedDateTime ge 2025-01-01T00:00:00Z")}`,
    );
    assert.equal(filtered.status, 400);
    assert.equal(
      ((await filtered.json()) as { error: { message: string } }).error.message,
      "The query parameter '$filter' is not supported with '$search'.",
    );
  });

  test("pages follow @odata.nextLink with a $skiptoken and stop at 1,000 results", async () => {
    let link: string | undefined = `/me/messages?$top=300&$select=subject&$search=${q('"digest"')}`;
    const seen = new Set<string>();
    let pages = 0;
    while (link) {
      const page: Page = await h.json<Page>(token, link);
      for (const message of page.value) seen.add(message.id);
      link = page["@odata.nextLink"];
      if (link) {
        const url = new URL(link);
        assert.ok(url.searchParams.get("$skiptoken"), "search pages by $skiptoken");
        assert.equal(url.searchParams.get("$skip"), null);
        assert.equal(url.searchParams.get("$search"), '"digest"', "the nextLink keeps the search");
      }
      pages++;
    }
    assert.equal(pages, 4);
    assert.equal(seen.size, 1000, "1,005 messages match; Graph returns at most 1,000");
    const forged = await h.call(token, `/me/messages?$search=${q('"digest"')}&$skiptoken=bm9wZQ`);
    assert.equal(forged.status, 400);
  });
});
