// Sending and delivery between sandbox mailboxes, drafts, replies and threading, attachments and
// upload sessions, and the operator mail routes.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import type { SandboxUser } from "../src/state.ts";
import {
  type GraphHarness,
  type GraphMessage,
  message,
  type Page,
  startGraphHarness,
} from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';

describe("Graph mail: sending, threading and attachments", () => {
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

  async function inboxFind(token: string, subject: string): Promise<GraphMessage> {
    return until(`"${subject}" in the inbox`, async () => {
      const page = await h.json<Page>(
        token,
        `/me/mailFolders/inbox/messages?$filter=${encodeURIComponent(`subject eq '${subject.replaceAll("'", "''")}'`)}&$select=subject,conversationId,internetMessageId,from,toRecipients,bccRecipients,isRead,body,hasAttachments,internetMessageHeaders`,
        { prefer: IMMUTABLE },
      );
      return page.value[0];
    });
  }

  test("sendMail is 202 with no body; the recipient's Inbox and the sender's Sent Items get copies", async () => {
    const response = await h.call(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: message("Lunch?", [bob.email], {
          bccRecipients: [{ emailAddress: { address: "hidden@partner.example" } }],
        }),
        saveToSentItems: true,
      }),
    });
    assert.equal(response.status, 202);
    assert.equal(await response.text(), "");
    const received = await inboxFind(bobToken, "Lunch?");
    assert.equal((received.from as { emailAddress: { address: string } }).emailAddress.address, alice.email);
    assert.deepEqual(received.bccRecipients, [], "Bcc is not visible to recipients");
    assert.equal(received.isRead, false);
    const sent = await until("sent copy", async () =>
      (
        await h.json<Page>(
          aliceToken,
          "/me/mailFolders/sentitems/messages?$select=subject,internetMessageId,conversationId,bccRecipients",
        )
      ).value.find((m) => m.subject === "Lunch?"),
    );
    assert.equal(sent.internetMessageId, received.internetMessageId, "same Message-ID in both mailboxes");
    assert.equal(sent.conversationId, received.conversationId);
    assert.notEqual(sent.id, received.id);
    assert.equal((sent.bccRecipients as unknown[]).length, 1);
  });

  test("saveToSentItems:false keeps no sent copy", async () => {
    await h.json(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({ message: message("No copy", [bob.email]), saveToSentItems: false }),
    });
    await inboxFind(bobToken, "No copy");
    const sent = await h.json<Page>(
      aliceToken,
      `/me/mailFolders/sentitems/messages?$filter=${encodeURIComponent("subject eq 'No copy'")}`,
    );
    assert.equal(sent.value.length, 0);
  });

  test("sending needs Mail.Send: 403 ErrorAccessDenied without it", async () => {
    const noSend = h.token(alice, ["User.Read", "Mail.ReadWrite"]);
    const response = await h.call(noSend, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({ message: message("x", [bob.email]) }),
    });
    assert.equal(response.status, 403);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "ErrorAccessDenied");
    assert.equal(body.error.message, "Access is denied. Check credentials and try again.");
  });

  test("invalid or missing recipients are 400 ErrorInvalidRecipients", async () => {
    const none = await h.call(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({ message: message("x", []) }),
    });
    assert.equal(none.status, 400);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, "ErrorInvalidRecipients");
    const bad = await h.call(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({ message: message("x", ["not-an-address"]) }),
    });
    const body = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "ErrorInvalidRecipients");
    assert.match(body.error.message, /Recipient 'not-an-address' isn't resolved/);
  });

  test("an unknown address in a sandbox domain bounces: an NDR lands in the sender's Inbox", async () => {
    await h.json(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: message("Bounce me", [`nobody@${h.domain}`, "someone@external.example"]),
      }),
    });
    const ndr = await inboxFind(aliceToken, "Undeliverable: Bounce me");
    assert.match(JSON.stringify(ndr.body), /RecipientNotFound/);
  });

  test("draft → /send: 201 draft in Drafts, 202 send, the draft's immutable id finds the sent copy", async () => {
    const draft = await h.json<GraphMessage>(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(message("Draft to send", [bob.email])),
      prefer: IMMUTABLE,
    });
    assert.equal(draft.isDraft, true);
    const drafts = await h.json(aliceToken, "/me/mailFolders/drafts");
    assert.equal(draft.parentFolderId, drafts.id);
    const sendResponse = await h.call(aliceToken, `/me/messages/${draft.id}/send`, { method: "POST" });
    assert.equal(sendResponse.status, 202);
    const sent = await until("the draft to become the sent item", async () => {
      const current = await h.json<GraphMessage>(aliceToken, `/me/messages/${draft.id}`, {
        prefer: IMMUTABLE,
      });
      return current.isDraft ? undefined : current;
    });
    const sentItems = await h.json(aliceToken, "/me/mailFolders/sentitems");
    assert.equal(sent.id, draft.id);
    assert.equal(sent.parentFolderId, sentItems.id);
    await inboxFind(bobToken, "Draft to send");
  });

  test("reply keeps conversationId and sets In-Reply-To/References; replyAll/forward address correctly", async () => {
    await h.json(aliceToken, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: message("Thread start", [bob.email], {
          ccRecipients: [{ emailAddress: { address: "carol@partner.example" } }],
        }),
      }),
    });
    const original = await inboxFind(bobToken, "Thread start");
    const reply = await h.call(bobToken, `/me/messages/${original.id}/reply`, {
      method: "POST",
      body: JSON.stringify({ comment: "Sounds good" }),
    });
    assert.equal(reply.status, 202);
    const answer = await inboxFind(aliceToken, "RE: Thread start");
    assert.equal(answer.conversationId, original.conversationId);
    const headers = answer.internetMessageHeaders as { name: string; value: string }[];
    assert.equal(headers.find((header) => header.name === "In-Reply-To")?.value, original.internetMessageId);
    assert.match(
      headers.find((header) => header.name === "References")?.value ?? "",
      new RegExp(original.internetMessageId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
    );

    const replyAll = await h.json<GraphMessage>(bobToken, `/me/messages/${original.id}/createReplyAll`, {
      method: "POST",
      body: JSON.stringify({ comment: "all" }),
    });
    assert.equal(replyAll.isDraft, true);
    assert.equal(replyAll.subject, "RE: Thread start");
    assert.deepEqual(
      (replyAll.toRecipients as { emailAddress: { address: string } }[]).map((r) => r.emailAddress.address),
      [alice.email],
    );
    assert.deepEqual(
      (replyAll.ccRecipients as { emailAddress: { address: string } }[]).map((r) => r.emailAddress.address),
      ["carol@partner.example"],
    );
    assert.equal(replyAll.conversationId, original.conversationId);

    const forward = await h.json<GraphMessage>(bobToken, `/me/messages/${original.id}/createForward`, {
      method: "POST",
      body: JSON.stringify({ toRecipients: [{ emailAddress: { address: "dan@partner.example" } }] }),
    });
    assert.equal(forward.subject, "FW: Thread start");
    const noRecipients = await h.call(bobToken, `/me/messages/${original.id}/forward`, {
      method: "POST",
      body: JSON.stringify({ comment: "fyi" }),
    });
    assert.equal(noRecipients.status, 400);
    const both = await h.call(bobToken, `/me/messages/${original.id}/reply`, {
      method: "POST",
      body: JSON.stringify({ comment: "a", message: { body: { contentType: "text", content: "b" } } }),
    });
    assert.equal(both.status, 400);
  });

  test("small attachments: add to a draft, list, get with contentBytes, $value raw bytes; 3 MB limit", async () => {
    const draft = await h.json<GraphMessage>(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(message("With file", [bob.email])),
    });
    const bytes = randomBytes(2048);
    const created = await h.json(aliceToken, `/me/messages/${draft.id}/attachments`, {
      method: "POST",
      body: JSON.stringify({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "a.bin",
        contentType: "application/pdf",
        contentBytes: bytes.toString("base64"),
      }),
    });
    assert.equal(created["@odata.type"], "#microsoft.graph.fileAttachment");
    assert.equal(created.size, 2048);
    const list = await h.json<Page<{ id: string; name: string; isInline: boolean }>>(
      aliceToken,
      `/me/messages/${draft.id}/attachments`,
    );
    assert.deepEqual(
      list.value.map((a) => a.name),
      ["a.bin"],
    );
    const one = await h.json(aliceToken, `/me/messages/${draft.id}/attachments/${list.value[0]!.id}`);
    assert.equal(one.contentBytes, bytes.toString("base64"));
    const raw = await h.call(aliceToken, `/me/messages/${draft.id}/attachments/${list.value[0]!.id}/$value`);
    assert.equal(raw.headers.get("content-type"), "application/pdf");
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), bytes);
    const withFlag = await h.json<GraphMessage>(
      aliceToken,
      `/me/messages/${draft.id}?$select=hasAttachments`,
    );
    assert.equal(withFlag.hasAttachments, true);

    const tooBig = await h.call(aliceToken, `/me/messages/${draft.id}/attachments`, {
      method: "POST",
      body: JSON.stringify({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "big.bin",
        contentBytes: randomBytes(3 * 1024 * 1024 + 10).toString("base64"),
      }),
    });
    assert.equal(tooBig.status, 413);

    await h.call(aliceToken, `/me/messages/${draft.id}/send`, { method: "POST" });
    const received = await inboxFind(bobToken, "With file");
    assert.equal(received.hasAttachments, true);
  });

  test("upload session: ~5 MB in chunks with Content-Range and no Authorization; 200 then 201 with Location", async () => {
    const draft = await h.json<GraphMessage>(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(message("Big file", [bob.email])),
    });
    const small = await h.call(aliceToken, `/me/messages/${draft.id}/attachments/createUploadSession`, {
      method: "POST",
      body: JSON.stringify({ AttachmentItem: { attachmentType: "file", name: "s.bin", size: 1000 } }),
    });
    assert.equal(
      ((await small.json()) as { error: { code: string } }).error.code,
      "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
    );
    const huge = await h.call(aliceToken, `/me/messages/${draft.id}/attachments/createUploadSession`, {
      method: "POST",
      body: JSON.stringify({
        AttachmentItem: { attachmentType: "file", name: "h.bin", size: 151 * 1024 * 1024 },
      }),
    });
    assert.equal(((await huge.json()) as { error: { code: string } }).error.code, "ErrorMessageSizeExceeded");

    const content = randomBytes(5 * 1024 * 1024 + 123);
    const session = await h.json<{
      uploadUrl: string;
      nextExpectedRanges: string[];
      expirationDateTime: string;
    }>(aliceToken, `/me/messages/${draft.id}/attachments/createUploadSession`, {
      method: "POST",
      body: JSON.stringify({
        AttachmentItem: {
          attachmentType: "file",
          name: "report.zip",
          size: content.length,
          contentType: "application/zip",
        },
      }),
    });
    assert.deepEqual(session.nextExpectedRanges, ["0-"]);
    assert.ok(session.uploadUrl.startsWith(h.sandbox.url));
    const chunk = 2 * 1024 * 1024;
    let last: Response | undefined;
    for (let start = 0; start < content.length; start += chunk) {
      const end = Math.min(start + chunk, content.length) - 1;
      last = await fetch(session.uploadUrl, {
        method: "PUT",
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `bytes ${start}-${end}/${content.length}`,
        },
        body: content.subarray(start, end + 1),
      });
      if (end + 1 < content.length) {
        assert.equal(last.status, 200);
        const progress = (await last.json()) as { NextExpectedRanges: string[] };
        assert.deepEqual(progress.NextExpectedRanges, [String(end + 1)]);
      }
    }
    assert.equal(last?.status, 201);
    assert.match(last?.headers.get("location") ?? "", /Attachments\('/);
    const list = await h.json<Page<{ id: string; name: string; size: number }>>(
      aliceToken,
      `/me/messages/${draft.id}/attachments?$select=name,size`,
    );
    assert.deepEqual(
      list.value.map((a) => [a.name, a.size]),
      [["report.zip", content.length]],
    );
    const raw = await h.call(aliceToken, `/me/messages/${draft.id}/attachments/${list.value[0]!.id}/$value`);
    assert.ok(Buffer.from(await raw.arrayBuffer()).equals(content));
  });

  test("3 MB splits inline from upload sessions with no gap: 2,999,999 bytes inline, 3,000,000 in a session, not the other way", async () => {
    const draft = await h.json<GraphMessage>(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(message("Boundary", [bob.email])),
    });
    const inline = (size: number) =>
      h.call(aliceToken, `/me/messages/${draft.id}/attachments`, {
        method: "POST",
        body: JSON.stringify({
          "@odata.type": "#microsoft.graph.fileAttachment",
          name: `${size}.bin`,
          contentBytes: Buffer.alloc(size, 1).toString("base64"),
        }),
      });
    const session = (size: number) =>
      h.call(aliceToken, `/me/messages/${draft.id}/attachments/createUploadSession`, {
        method: "POST",
        body: JSON.stringify({ AttachmentItem: { attachmentType: "file", name: `${size}.bin`, size } }),
      });
    assert.equal((await inline(2_999_999)).status, 201, "inline below 3 MB, its base64 request under 4 MB");
    assert.equal((await inline(3_000_000)).status, 413);
    const small = await session(2_999_999);
    assert.equal(
      ((await small.json()) as { error: { code: string } }).error.code,
      "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
    );
    assert.equal((await session(3_000_000)).status, 201);
    assert.equal((await session(3_145_000)).status, 201);
  });

  test("request bodies over 4 MB are refused with 413", async () => {
    const response = await h.call(aliceToken, "/me/messages", {
      method: "POST",
      body: JSON.stringify(message("x".repeat(5 * 1024 * 1024), [bob.email])),
    });
    assert.equal(response.status, 413);
  });

  test("POST /_sandbox/mail delivers from outside; the mailbox viewer shows it", async () => {
    const response = await fetch(`${h.sandbox.url}/_sandbox/mail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        from: "Newsletter <news@vendor.example>",
        to: [bob.email],
        subject: "Weekly digest",
        body: "<p>Hello</p>",
        body_type: "html",
        attachments: [
          { name: "a.txt", content_type: "text/plain", content_base64: Buffer.from("hi").toString("base64") },
        ],
      }),
    });
    assert.equal(response.status, 201);
    const body = (await response.json()) as { delivered: { user: string; message_id: string }[] };
    assert.equal(body.delivered.length, 1);
    assert.equal(body.delivered[0]!.user, bob.email);
    const fetched = await h.json<GraphMessage>(bobToken, `/me/messages/${body.delivered[0]!.message_id}`, {
      prefer: IMMUTABLE,
    });
    assert.equal(fetched.subject, "Weekly digest");
    assert.equal(fetched.hasAttachments, true);
    const viewer = await fetch(`${h.sandbox.url}/_sandbox/mailboxes/${bob.email}`);
    const view = (await viewer.json()) as { folders: { path: string }[]; messages: { subject: string }[] };
    assert.ok(view.folders.some((folder) => folder.path === "Inbox"));
    assert.ok(view.messages.some((m) => m.subject === "Weekly digest"));
    const html = await fetch(`${h.sandbox.url}/_sandbox/mailboxes/${bob.email}?format=html`);
    assert.match(await html.text(), /Weekly digest/);
  });
});
