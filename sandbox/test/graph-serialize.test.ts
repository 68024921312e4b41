// Rendered messages are cached per record and their JSON bytes reused across responses. The cache
// must never change what is sent: the bytes equal JSON.stringify's, and every change to a message
// (PATCH, move, delete, attachments) or a different Prefer/$select shows up at once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { graphJsonBytes, registerJsonFragment } from "../src/graph/json.ts";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import { renderMessage } from "../src/graph/serialize.ts";
import { type GraphHarness, type GraphMessage, type Page, startGraphHarness } from "./graph-helpers.ts";

describe("graph JSON bytes", () => {
  test("graphJsonBytes is byte-for-byte Buffer.from(JSON.stringify(value))", () => {
    const fragment = registerJsonFragment(
      Object.freeze({ a: 'é ☕ "quoted"\r\n<html>', n: 1.5, nested: { list: [1, null, "x"] } }),
    );
    const value = {
      "@odata.context": "https://x/$metadata#messages",
      value: [fragment, fragment, { plain: true, skip: undefined, fn: () => 1 }],
      holes: [undefined, () => 2, Symbol("s"), Number.NaN, Number.POSITIVE_INFINITY],
      date: new Date(0),
      map: new Map([["k", 1]]),
      empty: {},
      emptyList: [],
      "@odata.nextLink": undefined,
    };
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(graphJsonBytes(value), Buffer.from(JSON.stringify(value)));
    }
    assert.deepEqual(graphJsonBytes("text"), Buffer.from(JSON.stringify("text")));
    assert.deepEqual(graphJsonBytes([]), Buffer.from("[]"));
  });
});

describe("message rendering cache", () => {
  let h: GraphHarness;
  let token = "";
  let userId = "";

  before(async () => {
    h = await startGraphHarness();
    const user = h.addUser("cachey");
    userId = user.id;
    token = h.token(user);
    const store = mailboxes(h.sandbox.state).get(user.id);
    const inbox = store.wellKnownFolder("inbox");
    for (let index = 0; index < 12; index++) {
      store.insertMessage(inbox.id, {
        subject: `Cached ${index}`,
        body: { contentType: "html", content: `<p>Hello <b>${index}</b> — café ☕</p><script>x()</script>` },
        from: { name: "Sender", address: "sender@example.org" },
        toRecipients: [{ name: user.displayName, address: user.email }],
        receivedAt: h.sandbox.state.now() - index * 60_000,
      });
    }
  });

  after(async () => {
    await h.sandbox.close();
  });

  const listText = async (path = "/me/messages?$top=50", prefer?: string): Promise<string> => {
    const response = await h.call(token, path, prefer ? { prefer } : {});
    assert.equal(response.status, 200);
    return response.text();
  };

  test("the same unchanged listing is byte-identical on repeat and equals a fresh JSON.stringify", async () => {
    const first = await listText();
    const second = await listText();
    assert.equal(second, first);
    assert.equal(JSON.stringify(JSON.parse(first)), first);
  });

  test("a rendered message is frozen, so no caller can corrupt the shared copy", () => {
    const store = mailboxes(h.sandbox.state).get(userId);
    const record = store.all[0]!;
    const context = { immutableIds: false, contentType: null, allowUnsafeHtml: false };
    const rendered = renderMessage(store, record, context, null);
    assert.equal(renderMessage(store, record, context, null), rendered, "reused while unchanged");
    assert.throws(() => {
      (rendered as Record<string, unknown>).subject = "changed";
    }, TypeError);
    assert.throws(() => {
      ((rendered.body as Record<string, unknown>) ?? {}).content = "changed";
    }, TypeError);
    assert.equal(Object.isFrozen(record.flag), false, "the record's own objects stay mutable");
  });

  test("PATCH, move and delete show up in the next listing at once", async () => {
    const before = JSON.parse(await listText()) as Page;
    const target = before.value[0]!;
    assert.equal(target.isRead, false);
    await h.json(token, `/me/messages/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ isRead: true, categories: ["Blue"], flag: { flagStatus: "flagged" } }),
    });
    const patched = (JSON.parse(await listText()) as Page).value.find((m) => m.id === target.id)!;
    assert.equal(patched.isRead, true);
    assert.deepEqual(patched.categories, ["Blue"]);
    assert.deepEqual(patched.flag, { flagStatus: "flagged" });
    assert.notEqual(patched["@odata.etag"], target["@odata.etag"]);

    const moved = await h.json<GraphMessage>(token, `/me/messages/${target.id}/move`, {
      method: "POST",
      body: JSON.stringify({ destinationId: "archive" }),
    });
    const afterMove = (JSON.parse(await listText()) as Page).value;
    assert.ok(!afterMove.some((m) => m.id === target.id), "the old REST id is gone");
    const movedListed = afterMove.find((m) => m.id === moved.id)!;
    assert.equal(movedListed.parentFolderId, moved.parentFolderId);

    await h.call(token, `/me/messages/${moved.id}`, { method: "DELETE" });
    const afterDelete = (JSON.parse(await listText()) as Page).value;
    assert.ok(!afterDelete.some((m) => m.id === moved.id));
  });

  test("Prefer and $select variants of one message are rendered separately", async () => {
    const html = (JSON.parse(await listText("/me/messages?$top=1")) as Page).value[0]!;
    const text = (
      JSON.parse(await listText("/me/messages?$top=1", 'outlook.body-content-type="text"')) as Page
    ).value[0]!;
    const immutable = (JSON.parse(await listText("/me/messages?$top=1", 'IdType="ImmutableId"')) as Page)
      .value[0]!;
    const selected = (JSON.parse(await listText("/me/messages?$top=1&$select=subject")) as Page).value[0]!;
    assert.equal((html.body as { contentType: string }).contentType, "html");
    assert.equal((text.body as { contentType: string }).contentType, "text");
    assert.match(immutable.id, /^AAkAL/);
    assert.notEqual(immutable.id, html.id);
    assert.deepEqual(Object.keys(selected).sort(), ["@odata.etag", "id", "subject"]);
    assert.equal(
      JSON.stringify((JSON.parse(await listText("/me/messages?$top=1")) as Page).value[0]),
      JSON.stringify(html),
      "the default variant is unchanged by the others",
    );
  });

  test("adding an attachment updates hasAttachments in the listing", async () => {
    const [first] = (JSON.parse(await listText("/me/messages?$top=1")) as Page).value;
    assert.equal(first!.hasAttachments, false);
    const response = await h.call(token, `/me/messages/${first!.id}/attachments`, {
      method: "POST",
      body: JSON.stringify({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "a.txt",
        contentType: "text/plain",
        contentBytes: Buffer.from("hello").toString("base64"),
      }),
    });
    assert.equal(response.status, 201);
    const [again] = (JSON.parse(await listText("/me/messages?$top=1")) as Page).value;
    assert.equal(again!.id, first!.id);
    assert.equal(again!.hasAttachments, true);
  });
});
