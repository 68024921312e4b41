// Messages in MIME format (Graph docs: "create message in MIME format", "send message in MIME
// format"): base64 RFC 5322 as `text/plain` on POST /me/messages and /me/sendMail. Exchange keeps the
// message's own headers, so List-Unsubscribe reaches the recipient and is read in
// internetMessageHeaders ($select); bad base64 is 400 ErrorMimeContentInvalidBase64String.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, type GraphMessage, type Page, startGraphHarness } from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';

function mime(lines: string[], body: string): string {
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${body}`).toString("base64");
}

describe("Graph mail: messages in MIME format", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let bob: SandboxUser;
  let aliceToken: string;
  let bobToken: string;

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    bob = h.addUser("bob");
    aliceToken = h.token(alice);
    bobToken = h.token(bob);
  });
  after(async () => h.sandbox.close());

  const inboxFind = (token: string, subject: string) =>
    until(`"${subject}" in the inbox`, async () => {
      const page = await h.json<Page>(
        token,
        `/me/mailFolders/inbox/messages?$filter=${encodeURIComponent(`subject eq '${subject}'`)}&$select=subject,conversationId,internetMessageId,internetMessageHeaders,hasAttachments,body,replyTo`,
        { prefer: IMMUTABLE },
      );
      return page.value[0];
    });

  const headerOf = (m: GraphMessage, name: string) =>
    (m.internetMessageHeaders as { name: string; value: string }[] | undefined)?.find(
      (x) => x.name.toLowerCase() === name.toLowerCase(),
    )?.value;

  test("POST /me/messages with MIME: 201 draft with the MIME's fields; /send delivers its headers to the recipient", async () => {
    const body = mime(
      [
        `From: Alice <${alice.email}>`,
        `To: Bob <${bob.email}>`,
        "Subject: Bulk news",
        "List-Unsubscribe: <https://example.com/u/1>, <mailto:u@example.com?subject=unsubscribe>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        `Reply-To: replies@example.com`,
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
      ],
      [
        "--b1",
        'Content-Type: text/html; charset="utf-8"',
        "",
        "<p>Hello <b>Bob</b></p>",
        "--b1",
        'Content-Type: text/plain; name="a.txt"',
        'Content-Disposition: attachment; filename="a.txt"',
        "Content-Transfer-Encoding: base64",
        "",
        Buffer.from("attached").toString("base64"),
        "--b1--",
        "",
      ].join("\r\n"),
    );
    const draft = await h.json<GraphMessage>(aliceToken, "/me/messages", {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
      prefer: IMMUTABLE,
    });
    assert.equal(draft.isDraft, true);
    assert.equal(draft.subject, "Bulk news");
    assert.deepEqual(draft.toRecipients, [{ emailAddress: { name: "Bob", address: bob.email } }]);
    assert.equal(draft.hasAttachments, true);
    const drafts = await h.json(aliceToken, "/me/mailFolders/drafts");
    assert.equal(draft.parentFolderId, drafts.id);
    // The draft takes a named property afterwards, as any draft does.
    const patched = await h.call(aliceToken, `/me/messages/${draft.id}`, {
      method: "PATCH",
      body: JSON.stringify({
        singleValueExtendedProperties: [
          { id: "String {8f3b6c2e-4d1a-4e57-9b0c-6a2f1d7e5c93} Name Mark", value: "m1" },
        ],
      }),
    });
    assert.equal(patched.status, 200);
    assert.equal((await h.call(aliceToken, `/me/messages/${draft.id}/send`, { method: "POST" })).status, 202);
    const received = await inboxFind(bobToken, "Bulk news");
    assert.equal(
      headerOf(received, "List-Unsubscribe"),
      "<https://example.com/u/1>, <mailto:u@example.com?subject=unsubscribe>",
    );
    assert.equal(headerOf(received, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    assert.equal(received.hasAttachments, true);
    assert.deepEqual(received.replyTo, [
      { emailAddress: { name: "replies@example.com", address: "replies@example.com" } },
    ]);
    assert.match(String((received.body as { content: string }).content), /Hello <b>Bob<\/b>/);
    // Headers are select-only, as on any message.
    const plain = await h.json<GraphMessage>(bobToken, `/me/messages/${received.id}`);
    assert.equal(plain.internetMessageHeaders, undefined);
  });

  test("a MIME reply (In-Reply-To/References) joins the parent's conversation", async () => {
    await h.json(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: {
          subject: "Thread start",
          body: { contentType: "text", content: "first" },
          toRecipients: [{ emailAddress: { address: bob.email } }],
        },
      }),
    });
    const parent = await inboxFind(bobToken, "Thread start");
    const body = mime(
      [
        `From: ${bob.email}`,
        `To: ${alice.email}`,
        "Subject: RE: Thread start",
        `In-Reply-To: ${parent.internetMessageId}`,
        `References: ${parent.internetMessageId}`,
        "List-Unsubscribe: <https://example.com/u/2>",
        "Content-Type: text/plain",
      ],
      "reply",
    );
    const draft = await h.json<GraphMessage>(bobToken, "/me/messages", {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
      prefer: IMMUTABLE,
    });
    assert.equal(draft.conversationId, parent.conversationId);
    await h.call(bobToken, `/me/messages/${draft.id}/send`, { method: "POST" });
    const reply = await inboxFind(aliceToken, "RE: Thread start");
    assert.equal(headerOf(reply, "In-Reply-To"), parent.internetMessageId);
    assert.equal(headerOf(reply, "List-Unsubscribe"), "<https://example.com/u/2>");
  });

  test("sendMail with MIME: 202, the recipient's copy keeps the headers", async () => {
    const body = mime(
      [
        `From: ${alice.email}`,
        `To: ${bob.email}`,
        "Subject: Direct MIME",
        "List-Id: <news.example.com>",
        "Content-Type: text/plain",
      ],
      "direct",
    );
    const response = await h.call(aliceToken, "/me/sendMail", {
      method: "POST",
      body,
      headers: { "content-type": "text/plain" },
    });
    assert.equal(response.status, 202);
    const received = await inboxFind(bobToken, "Direct MIME");
    assert.equal(headerOf(received, "List-Id"), "<news.example.com>");
  });

  test("a body that is not base64 is 400 ErrorMimeContentInvalidBase64String, on create and on sendMail", async () => {
    for (const path of ["/me/messages", "/me/sendMail"])
      for (const body of ["not base64!", ""]) {
        const response = await h.call(aliceToken, path, {
          method: "POST",
          body,
          headers: { "content-type": "text/plain" },
        });
        assert.equal(response.status, 400, `${path} ${JSON.stringify(body)}`);
        const error = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(error.error.code, "ErrorMimeContentInvalidBase64String");
        assert.equal(error.error.message, "Invalid base64 string for MIME content.");
      }
  });

  test("a MIME request over 4 MB is refused like any other (413)", async () => {
    const big = mime([`To: ${bob.email}`, "Subject: big", "Content-Type: text/plain"], "x".repeat(3_200_000));
    const response = await h.call(aliceToken, "/me/messages", {
      method: "POST",
      body: big,
      headers: { "content-type": "text/plain" },
    });
    assert.equal(response.status, 413);
  });
});
