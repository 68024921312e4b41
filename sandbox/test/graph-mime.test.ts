// `GET /me/messages/{id}/$value` gives valid MIME for every message (Graph "Get MIME content of a
// message"), checked by parsing it with mailparser: headers, multipart/alternative for HTML with a
// text part, inline images by Content-ID, attachments in base64 with Content-Disposition, the
// internetMessageId as Message-ID, In-Reply-To and References, CRLF line ends.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { simpleParser } from "mailparser";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, type GraphMessage, type Page, startGraphHarness } from "./graph-helpers.ts";

describe("Graph mail: MIME content ($value)", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let token: string;
  const at = Date.parse("2025-06-02T10:15:30Z");
  const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.alloc(5000, 7)]);
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

  const raw = async (id: string) => {
    const response = await h.call(token, `/me/messages/${encodeURIComponent(id)}/$value`);
    assert.equal(response.status, 200);
    return Buffer.from(await response.arrayBuffer());
  };

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    token = h.token(alice);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    store.insertMessage(store.wellKnownFolder("inbox").id, {
      subject: "Réunion — ordre du jour 📅",
      body: {
        contentType: "html",
        content: '<html><body><p>Voir <b>le plan</b> ci-joint.</p><img src="cid:plan@x"></body></html>',
      },
      from: { name: "Zoë Ünal", address: "zoe@fabrikam.com" },
      toRecipients: [{ name: "Alice Test", address: alice.email }],
      ccRecipients: [{ name: 'Bob "B" Jones', address: "bob@fabrikam.com" }],
      internetMessageId: "<meeting-42@fabrikam.com>",
      inReplyTo: "<agenda-41@fabrikam.com>",
      references: ["<agenda-40@fabrikam.com>", "<agenda-41@fabrikam.com>"],
      importance: "high",
      receivedAt: at,
      sentAt: at - 2000,
      attachments: [
        {
          key: "pdf",
          name: "ordre du jour été.pdf",
          contentType: "application/pdf",
          content: pdf,
          contentId: null,
          contentLocation: null,
          isInline: false,
          lastModifiedAt: at,
        },
        {
          key: "png",
          name: "plan.png",
          contentType: "image/png",
          content: png,
          contentId: "plan@x",
          contentLocation: null,
          isInline: true,
          lastModifiedAt: at,
        },
      ],
    });
    store.insertMessage(store.wellKnownFolder("sentitems").id, {
      subject: "Plain note",
      body: { contentType: "text", content: "Just text.\nTwo lines." },
      from: { name: "Alice Test", address: alice.email },
      toRecipients: [{ name: "Carol", address: "carol@fabrikam.com" }],
      internetMessageId: "<note-1@contoso.com>",
      receivedAt: at + 60_000,
      sentAt: at + 60_000,
    });
  });
  after(async () => h.sandbox.close());

  const byFolder = async (folder: string) =>
    (await h.json<Page>(token, `/me/mailFolders/${folder}/messages?$top=5`)).value[0] as GraphMessage;

  test("an HTML message with attachments parses back: headers, alternative text, inline image, attachment", async () => {
    const message = await byFolder("inbox");
    const bytes = await raw(message.id);
    assert.ok(!/[^\r]\n/.test(bytes.toString("latin1")), "every line ends in CRLF");
    const parsed = await simpleParser(bytes);
    assert.equal(parsed.subject, "Réunion — ordre du jour 📅");
    assert.equal(parsed.messageId, message.internetMessageId);
    assert.equal(parsed.messageId, "<meeting-42@fabrikam.com>");
    assert.equal(parsed.inReplyTo, "<agenda-41@fabrikam.com>");
    assert.deepEqual(parsed.references, ["<agenda-40@fabrikam.com>", "<agenda-41@fabrikam.com>"]);
    assert.deepEqual(parsed.from?.value, [{ name: "Zoë Ünal", address: "zoe@fabrikam.com" }]);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    assert.deepEqual(to?.value, [{ name: "Alice Test", address: alice.email }]);
    const cc = Array.isArray(parsed.cc) ? parsed.cc[0] : parsed.cc;
    assert.deepEqual(cc?.value, [{ name: 'Bob "B" Jones', address: "bob@fabrikam.com" }]);
    assert.equal(parsed.date?.toISOString(), new Date(at - 2000).toISOString());
    assert.match(String(parsed.html), /<b>le plan<\/b>/);
    assert.match(String(parsed.text), /Voir le plan ci-joint\./);
    const top = parsed.headers.get("content-type") as { value: string };
    assert.equal(top.value, "multipart/mixed");
    const text = bytes.toString("utf8");
    assert.match(text, /\r\nImportance: high\r\n/);
    assert.match(text, /Content-Type: multipart\/alternative/);
    assert.match(text, /Content-Type: multipart\/related/);
    const attachment = parsed.attachments.find((a) => a.contentType === "application/pdf");
    assert.ok(attachment);
    assert.equal(attachment.filename, "ordre du jour été.pdf");
    assert.equal(attachment.contentDisposition, "attachment");
    assert.ok(attachment.content.equals(pdf));
    assert.match(text, /Content-Transfer-Encoding: base64/);
    const image = parsed.attachments.find((a) => a.contentType === "image/png");
    assert.ok(image);
    assert.equal(image.contentDisposition, "inline");
    assert.equal(image.cid, "plan@x");
    assert.ok(image.content.equals(png));
  });

  test("a sent plain-text message is one text/plain part with its Message-ID", async () => {
    const message = await byFolder("sentitems");
    const parsed = await simpleParser(await raw(message.id));
    assert.equal((parsed.headers.get("content-type") as { value: string }).value, "text/plain");
    assert.equal(parsed.text?.trim(), "Just text.\nTwo lines.");
    assert.equal(parsed.messageId, "<note-1@contoso.com>");
    assert.equal(parsed.inReplyTo, undefined);
    assert.equal(parsed.attachments.length, 0);
  });

  test("every corpus-like message from a real send parses, and the same version gives the same bytes", async () => {
    await h.json(token, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: {
          subject: "Sent through Graph",
          body: { contentType: "html", content: "<p>Hello <i>Bob</i></p>" },
          toRecipients: [{ emailAddress: { address: `alice@${h.domain}` } }],
        },
      }),
    });
    const all = (await h.json<Page>(token, "/me/messages?$top=50")).value;
    for (const message of all) {
      const bytes = await raw(message.id);
      const parsed = await simpleParser(bytes);
      assert.equal(parsed.messageId, message.internetMessageId, message.subject);
      assert.equal(parsed.subject, message.subject);
      assert.ok((await raw(message.id)).equals(bytes), "stable bytes per version");
    }
  });

  test("a message deleted meanwhile answers 404 ErrorItemNotFound", async () => {
    const message = await byFolder("sentitems");
    await h.call(token, `/me/messages/${encodeURIComponent(message.id)}/permanentDelete`, { method: "POST" });
    const response = await h.call(token, `/me/messages/${encodeURIComponent(message.id)}/$value`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "ErrorItemNotFound");
  });
});
