// `$expand=attachments` on message lists and single messages, with and without a nested `$select`
// (Graph v1.0: attachments is a navigation property of microsoft.graph.message in the CSDL).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, type GraphMessage, type Page, startGraphHarness } from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';

describe("Graph mail: $expand=attachments", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let token: string;
  let withFiles: string;

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    token = h.token(alice);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const inbox = store.wellKnownFolder("inbox");
    const base = Date.parse("2025-03-01T12:00:00Z");
    store.insertMessage(inbox.id, {
      subject: "no files",
      body: { contentType: "text", content: "hi" },
      receivedAt: base,
    });
    const message = store.insertMessage(inbox.id, {
      subject: "files",
      body: { contentType: "html", content: '<p>see <img src="cid:logo"></p>' },
      receivedAt: base + 60_000,
    });
    store.addAttachment(message, {
      name: "report.pdf",
      contentType: "application/pdf",
      content: Buffer.from("%PDF-1.4 report"),
      contentId: null,
      contentLocation: null,
      isInline: false,
    });
    store.addAttachment(message, {
      name: "logo.png",
      contentType: "image/png",
      content: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      contentId: "logo",
      contentLocation: null,
      isInline: true,
    });
    withFiles = message.immutableId;
  });
  after(async () => h.sandbox.close());

  test("a list with $expand=attachments($select=…) carries each message's attachment metadata", async () => {
    const page = await h.json<Page<GraphMessage>>(
      token,
      "/me/messages?$select=id,subject,hasAttachments&$expand=attachments($select=id,name,contentType,size,isInline,contentId)&$orderby=receivedDateTime desc",
      { prefer: IMMUTABLE },
    );
    assert.match(
      String(page["@odata.context"]),
      /messages\(id,subject,hasAttachments,attachments\(id,name,contentType,size,isInline,contentId\)\)$/,
    );
    const [first, second] = page.value as Record<string, unknown>[];
    assert.equal(first!.subject, "files");
    const attachments = first!.attachments as Record<string, unknown>[];
    assert.equal(attachments.length, 2);
    assert.deepEqual(
      attachments.map((a) => [a.name, a.contentType, a.size, a.isInline, a.contentId]),
      [
        ["report.pdf", "application/pdf", 15, false, null],
        ["logo.png", "image/png", 4, true, "logo"],
      ],
    );
    assert.equal(attachments[0]!["@odata.type"], "#microsoft.graph.fileAttachment");
    assert.equal("contentBytes" in attachments[0]!, false);
    // The ids are the ones the attachments endpoint answers.
    const listed = await h.json<Page<Record<string, unknown>>>(
      token,
      `/me/messages/${withFiles}/attachments?$select=id`,
      { prefer: IMMUTABLE },
    );
    assert.deepEqual(
      attachments.map((a) => a.id),
      listed.value!.map((a) => a.id),
    );
    assert.deepEqual(second!.attachments, []);
  });

  test("a single message expands attachments, all properties without a nested $select", async () => {
    const message = await h.json<Record<string, unknown>>(
      token,
      `/me/messages/${withFiles}?$select=id&$expand=attachments`,
      { prefer: IMMUTABLE },
    );
    assert.match(String(message["@odata.context"]), /messages\(id,attachments\(\)\)\/\$entity$/);
    const attachments = message.attachments as Record<string, unknown>[];
    assert.equal(attachments[0]!.contentBytes, Buffer.from("%PDF-1.4 report").toString("base64"));
  });

  test("without $expand there is no attachments property; a changed attachment list is not served stale", async () => {
    const plain = await h.json<Record<string, unknown>>(token, `/me/messages/${withFiles}?$select=id`, {
      prefer: IMMUTABLE,
    });
    assert.equal("attachments" in plain, false);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const record = store.resolveMessage(withFiles)!;
    store.removeAttachment(record, record.attachments[1]!);
    const after = await h.json<Record<string, unknown>>(
      token,
      `/me/messages/${withFiles}?$select=id&$expand=attachments($select=name)`,
      { prefer: IMMUTABLE },
    );
    assert.deepEqual(
      (after.attachments as Record<string, unknown>[]).map((a) => a.name),
      ["report.pdf"],
    );
  });

  test("unknown or unsupported expansions are 400", async () => {
    for (const expand of ["nope", "subject", "attachments($top=1)", "attachments($select=nope)"]) {
      const response = await h.call(token, `/me/messages?$expand=${encodeURIComponent(expand)}`);
      assert.equal(response.status, 400, expand);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "BadRequest", expand);
    }
  });
});
