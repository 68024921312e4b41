// Graph mail reads and mutations: /me, folders, query options and their Exchange-specific errors,
// ids (REST vs immutable), PATCH/DELETE/move/copy, auth and permission errors.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { mailboxes } from "../src/graph/mailbox-store.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, type GraphMessage, type Page, startGraphHarness } from "./graph-helpers.ts";

const IMMUTABLE = 'IdType="ImmutableId"';

describe("Graph mail: reading and organising", () => {
  let h: GraphHarness;
  let alice: SandboxUser;
  let token: string;
  const base = Date.parse("2025-03-01T12:00:00Z");

  before(async () => {
    h = await startGraphHarness();
    alice = h.addUser("alice");
    token = h.token(alice);
    const store = mailboxes(h.sandbox.state).get(alice.id);
    const inbox = store.wellKnownFolder("inbox");
    const archive = store.wellKnownFolder("archive");
    for (let index = 0; index < 25; index++) {
      store.insertMessage(index % 5 === 4 ? archive.id : inbox.id, {
        subject: `Report ${index}`,
        body:
          index % 2
            ? { contentType: "html", content: `<p>Quarterly <b>numbers</b> ${index}</p>` }
            : { contentType: "text", content: `plain text ${index}` },
        from: {
          name: index % 3 === 0 ? "Carol" : "Dave",
          address: index % 3 === 0 ? "carol@fabrikam.com" : "dave@fabrikam.com",
        },
        toRecipients: [{ name: "Alice", address: alice.email }],
        receivedAt: base + index * 60_000,
        isRead: index % 4 === 0,
        categories: index === 7 ? ["Red"] : [],
      });
    }
  });
  after(async () => h.sandbox.close());

  test("/me returns the user resource with Graph's default properties", async () => {
    const me = await h.json(token, "/me");
    assert.equal(me.id, alice.id);
    assert.equal(me.userPrincipalName, alice.email);
    assert.equal(me.mail, alice.email);
    assert.deepEqual(me.businessPhones, []);
    assert.match(String(me["@odata.context"]), /\$metadata#users\/\$entity$/);
  });

  test("responses carry request-id, echoed client-request-id and the OData JSON content type", async () => {
    const response = await h.call(token, "/me/messages?$top=1", {
      headers: { "client-request-id": "abc-123" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("client-request-id"), "abc-123");
    assert.match(response.headers.get("request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(
      response.headers.get("content-type"),
      "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
    );
  });

  test("an unknown token is 401 InvalidAuthenticationToken with WWW-Authenticate and innerError", async () => {
    const response = await h.call("not-a-jwt", "/me/messages");
    assert.equal(response.status, 401);
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer realm=""/);
    const body = (await response.json()) as { error: { code: string; innerError: Record<string, string> } };
    assert.equal(body.error.code, "InvalidAuthenticationToken");
    assert.match(body.error.innerError.date ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.ok(body.error.innerError["request-id"]);
  });

  test("reading mail needs Mail.Read or Mail.ReadWrite; writing needs Mail.ReadWrite", async () => {
    const userOnly = h.token(alice, ["User.Read"]);
    const denied = await h.call(userOnly, "/me/messages");
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, "ErrorAccessDenied");
    const readOnly = h.token(alice, ["Mail.Read"]);
    assert.equal((await h.call(readOnly, "/me/messages")).status, 200);
    const patch = await h.call(readOnly, "/me/mailFolders", {
      method: "POST",
      body: JSON.stringify({ displayName: "X" }),
    });
    assert.equal(patch.status, 403);
  });

  test("a user without a mailbox gets MailboxNotEnabledForRESTAPI on mail but /me works", async () => {
    const ghost = h.addUser("ghost", { hasMailbox: false, kind: "no_mailbox" });
    const ghostToken = h.token(ghost);
    assert.equal((await h.call(ghostToken, "/me")).status, 200);
    const response = await h.call(ghostToken, "/me/messages");
    assert.equal(response.status, 404);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      "MailboxNotEnabledForRESTAPI",
    );
  });

  test("/users/{upn} and /users/{id} address the signed-in user's own mailbox; others are denied", async () => {
    const byUpn = await h.json<Page>(token, `/users/${alice.email}/messages?$top=1`);
    const byId = await h.json<Page>(token, `/users/${alice.id}/messages?$top=1`);
    assert.equal(byUpn.value[0]?.id, byId.value[0]?.id);
    const bob = h.addUser("bobby");
    assert.equal((await h.call(token, `/users/${bob.email}/messages`)).status, 403);
  });

  test("default page size is 10, newest first, and nextLink pages through everything", async () => {
    const first = await h.json<Page>(token, "/me/messages");
    assert.equal(first.value.length, 10);
    assert.equal(first.value[0]?.subject, "Report 24");
    const seen = new Set(first.value.map((m) => m.id));
    let next = first["@odata.nextLink"];
    assert.match(next ?? "", /\$skip=10/);
    while (next) {
      const page = await h.json<Page>(token, next);
      for (const m of page.value) seen.add(m.id);
      next = page["@odata.nextLink"];
    }
    assert.equal(seen.size, 25);
  });

  test("$top is bounded to 1..1000 and $select limits properties (id and etag always present)", async () => {
    assert.equal((await h.call(token, "/me/messages?$top=1001")).status, 400);
    const page = await h.json<Page>(token, "/me/messages?$top=2&$select=subject,isRead");
    assert.deepEqual(Object.keys(page.value[0]!).sort(), ["@odata.etag", "id", "isRead", "subject"]);
    assert.match(String(page.value[0]!["@odata.etag"]), /^W\/"CQAAABYAAA/);
    assert.match(page["@odata.context"] ?? "", /messages\(subject,isRead\)$/);
    const bad = await h.call(token, "/me/messages?$select=nope");
    assert.equal(bad.status, 400);
  });

  test("internetMessageHeaders and uniqueBody are returned only when selected", async () => {
    const plain = await h.json<Page>(token, "/me/messages?$top=1");
    assert.equal("internetMessageHeaders" in plain.value[0]!, false);
    assert.equal("uniqueBody" in plain.value[0]!, false);
    const selected = await h.json<Page>(
      token,
      "/me/messages?$top=1&$select=internetMessageHeaders,uniqueBody",
    );
    assert.ok(Array.isArray(selected.value[0]!.internetMessageHeaders));
    assert.equal((selected.value[0]!.uniqueBody as { contentType: string }).contentType, "html");
  });

  test("$filter supports comparisons, and/or, functions and any()", async () => {
    const unread = await h.json<Page>(token, "/me/messages?$top=100&$filter=isRead eq false");
    assert.ok(unread.value.every((m) => m.isRead === false));
    assert.equal(unread.value.length, 18);
    const since = new Date(base + 20 * 60_000).toISOString();
    const recent = await h.json<Page>(
      token,
      `/me/messages?$top=100&$filter=${encodeURIComponent(`receivedDateTime ge ${since} and from/emailAddress/address eq 'CAROL@fabrikam.com'`)}`,
    );
    assert.deepEqual(
      recent.value.map((m) => m.subject),
      ["Report 24", "Report 21"],
    );
    const either = await h.json<Page>(
      token,
      `/me/messages?$top=100&$filter=${encodeURIComponent("subject eq 'Report 1' or startswith(subject,'Report 2')")}`,
    );
    assert.equal(either.value.length, 7);
    const red = await h.json<Page>(
      token,
      `/me/messages?$filter=${encodeURIComponent("categories/any(c:c eq 'Red')")}`,
    );
    assert.deepEqual(
      red.value.map((m) => m.subject),
      ["Report 7"],
    );
    const to = await h.json<Page>(
      token,
      `/me/messages?$top=100&$filter=${encodeURIComponent(`toRecipients/any(r:r/emailAddress/address eq '${alice.email}')`)}`,
    );
    assert.equal(to.value.length, 25);
    const malformed = await h.call(token, `/me/messages?$filter=${encodeURIComponent("isRead eq")}`);
    assert.equal(malformed.status, 400);
    const unknown = await h.call(token, `/me/messages?$filter=${encodeURIComponent("colour eq 'x'")}`);
    assert.equal(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      "Could not find a property named 'colour' on type 'microsoft.graph.message'.",
    );
  });

  test("$orderby properties must lead the $filter, else 400 InefficientFilter", async () => {
    const bad = await h.call(
      token,
      `/me/messages?$filter=${encodeURIComponent("isRead eq false")}&$orderby=receivedDateTime desc`,
    );
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "InefficientFilter");
    assert.equal(body.error.message, "The restriction or sort order is too complex for this operation.");
    const good = await h.json<Page>(
      token,
      `/me/messages?$top=3&$filter=${encodeURIComponent("receivedDateTime ge 2000-01-01T00:00:00Z and isRead eq false")}&$orderby=receivedDateTime asc`,
    );
    assert.deepEqual(
      good.value.map((m) => m.subject),
      ["Report 1", "Report 2", "Report 3"],
    );
    const bySubject = await h.json<Page>(token, "/me/messages?$top=2&$orderby=subject desc");
    assert.deepEqual(
      bySubject.value.map((m) => m.subject),
      ["Report 9", "Report 8"],
    );
  });

  test("$search matches subject/body/from, rejects $orderby, needs quotes", async () => {
    const found = await h.json<Page>(
      token,
      `/me/messages?$top=50&$search=${encodeURIComponent('"numbers"')}`,
    );
    assert.equal(found.value.length, 12);
    const from = await h.json<Page>(
      token,
      `/me/messages?$top=50&$search=${encodeURIComponent('"from:carol"')}`,
    );
    assert.equal(from.value.length, 9);
    const withOrder = await h.call(
      token,
      `/me/messages?$search=${encodeURIComponent('"numbers"')}&$orderby=subject`,
    );
    assert.equal(withOrder.status, 400);
    assert.equal(((await withOrder.json()) as { error: { code: string } }).error.code, "SearchWithOrderBy");
    assert.equal((await h.call(token, "/me/messages?$search=numbers")).status, 400);
  });

  test("$count=true adds @odata.count of the whole result", async () => {
    const page = await h.json<Page>(token, "/me/mailFolders/inbox/messages?$count=true&$top=1");
    assert.equal(page["@odata.count"], 20);
    assert.equal(page.value.length, 1);
  });

  test('Prefer: outlook.body-content-type="text" converts HTML bodies and is echoed in Preference-Applied', async () => {
    const html = await h.json<Page>(token, "/me/messages?$top=1&$select=body");
    assert.equal((html.value[0]!.body as { contentType: string }).contentType, "html");
    const response = await h.call(
      token,
      `/me/messages?$select=body,bodyPreview&$filter=${encodeURIComponent("subject eq 'Report 23'")}`,
      { prefer: 'outlook.body-content-type="text"' },
    );
    assert.equal(response.headers.get("preference-applied"), 'outlook.body-content-type="text"');
    const text = (await response.json()) as Page;
    const body = text.value[0]!.body as { contentType: string; content: string };
    assert.equal(body.contentType, "text");
    assert.equal(body.content, "Quarterly numbers 23");
  });

  test("well-known folder names resolve; folders list, child folders and 409 on duplicates", async () => {
    const inbox = await h.json(token, "/me/mailFolders/inbox");
    assert.equal(inbox.displayName, "Inbox");
    assert.equal(inbox.totalItemCount, 20);
    const folders = await h.json<Page<{ displayName: string }>>(token, "/me/mailFolders?$top=50");
    assert.ok(
      ["Inbox", "Drafts", "Sent Items", "Deleted Items", "Junk Email", "Archive", "Outbox"].every((name) =>
        folders.value.some((f) => f.displayName === name),
      ),
    );
    const created = await h.json(token, "/me/mailFolders/inbox/childFolders", {
      method: "POST",
      body: JSON.stringify({ displayName: "Receipts" }),
    });
    assert.equal(created.parentFolderId, inbox.id);
    const duplicate = await h.call(token, "/me/mailFolders/inbox/childFolders", {
      method: "POST",
      body: JSON.stringify({ displayName: "receipts" }),
    });
    assert.equal(duplicate.status, 409);
    assert.equal(((await duplicate.json()) as { error: { code: string } }).error.code, "ErrorFolderExists");
    const children = await h.json<Page<{ id: string }>>(token, `/me/mailFolders/${inbox.id}/childFolders`);
    assert.deepEqual(
      children.value.map((f) => f.id),
      [created.id],
    );
    const renamed = await h.json(token, `/me/mailFolders/${created.id}`, {
      method: "PATCH",
      body: JSON.stringify({ displayName: "Bills" }),
    });
    assert.equal(renamed.displayName, "Bills");
    assert.equal((await h.call(token, `/me/mailFolders/${created.id}`, { method: "DELETE" })).status, 204);
    assert.equal((await h.call(token, "/me/mailFolders/inbox", { method: "DELETE" })).status, 400);
  });

  test("malformed ids are 400 ErrorInvalidIdMalformed; unknown ids are 404 ErrorItemNotFound", async () => {
    const malformed = await h.call(token, "/me/messages/abc");
    assert.equal(malformed.status, 400);
    assert.equal(
      ((await malformed.json()) as { error: { code: string } }).error.code,
      "ErrorInvalidIdMalformed",
    );
    const missing = await h.call(token, `/me/messages/AAMkAG${"A".repeat(100)}=`);
    assert.equal(missing.status, 404);
    const body = (await missing.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "ErrorItemNotFound");
    assert.equal(
      body.error.message,
      "The specified object was not found in the store., The process failed to get the correct properties.",
    );
  });

  test("a move gives a new REST id; the immutable id survives and both kinds resolve", async () => {
    const [original] = (await h.json<Page>(token, "/me/mailFolders/inbox/messages?$top=1")).value;
    const [immutable] = (
      await h.json<Page>(token, "/me/mailFolders/inbox/messages?$top=1", { prefer: IMMUTABLE })
    ).value;
    assert.ok(original && immutable);
    assert.match(original.id, /^AAMkAG[A-Za-z0-9_-]+=*$/);
    assert.match(immutable.id, /^AAkAL/);
    assert.notEqual(original.id, immutable.id);
    const moved = await h.json<GraphMessage>(token, `/me/messages/${original.id}/move`, {
      method: "POST",
      body: JSON.stringify({ destinationId: "archive" }),
      prefer: IMMUTABLE,
    });
    assert.equal(moved.id, immutable.id, "immutable id unchanged by the move");
    const archive = await h.json(token, "/me/mailFolders/archive");
    assert.equal(moved.parentFolderId, archive.id);
    assert.equal((await h.call(token, `/me/messages/${original.id}`)).status, 404, "stale REST id");
    const byImmutable = await h.json<GraphMessage>(token, `/me/messages/${immutable.id}`);
    assert.notEqual(byImmutable.id, original.id, "without the Prefer header the new REST id is returned");
    assert.equal(byImmutable.subject, original.subject);
    const again = await h.json<GraphMessage>(token, `/me/messages/${byImmutable.id}`, { prefer: IMMUTABLE });
    assert.equal(again.id, immutable.id);
  });

  test("PATCH updates isRead/flag/categories and bumps changeKey; draft-only properties are refused", async () => {
    const [target] = (await h.json<Page>(token, "/me/messages?$top=1&$filter=isRead eq false")).value;
    assert.ok(target);
    const updated = await h.json<GraphMessage>(token, `/me/messages/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ isRead: true, flag: { flagStatus: "flagged" }, categories: ["Blue"] }),
    });
    assert.equal(updated.isRead, true);
    assert.deepEqual(updated.flag, { flagStatus: "flagged" });
    assert.deepEqual(updated.categories, ["Blue"]);
    assert.notEqual(updated.changeKey, target.changeKey);
    const subject = await h.call(token, `/me/messages/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ subject: "new" }),
    });
    assert.equal(subject.status, 400);
    const badJson = await h.call(token, `/me/messages/${target.id}`, { method: "PATCH", body: "{nope" });
    assert.equal(badJson.status, 400);
  });

  test("DELETE is a soft delete (not into Deleted Items); copy creates a new item", async () => {
    const [target] = (
      await h.json<Page>(token, "/me/mailFolders/inbox/messages?$top=1", { prefer: IMMUTABLE })
    ).value;
    assert.ok(target);
    const copy = await h.json<GraphMessage>(token, `/me/messages/${target.id}/copy`, {
      method: "POST",
      body: JSON.stringify({ destinationId: "junkemail" }),
      prefer: IMMUTABLE,
    });
    assert.notEqual(copy.id, target.id);
    assert.equal(copy.subject, target.subject);
    const deletedBefore = (await h.json(token, "/me/mailFolders/deleteditems")).totalItemCount;
    assert.equal((await h.call(token, `/me/messages/${target.id}`, { method: "DELETE" })).status, 204);
    assert.equal((await h.json(token, "/me/mailFolders/deleteditems")).totalItemCount, deletedBefore);
    const listed = await h.json<Page>(token, "/me/messages?$top=1000", { prefer: IMMUTABLE });
    assert.ok(!listed.value.some((m) => m.id === target.id), "soft-deleted items leave /me/messages");
  });

  test("every mutation emits a mail-change event with the immutable id", async () => {
    const events: { changeType: string; messageId: string; folderId: string }[] = [];
    const listener = (event: { changeType: string; messageId: string; folderId: string }): void => {
      events.push(event);
    };
    h.sandbox.state.events.on("mail-change", listener);
    try {
      const [target] = (
        await h.json<Page>(token, "/me/mailFolders/inbox/messages?$top=1", { prefer: IMMUTABLE })
      ).value;
      assert.ok(target);
      await h.json(token, `/me/messages/${target.id}`, {
        method: "PATCH",
        body: JSON.stringify({ isRead: false }),
      });
      await h.json(token, `/me/messages/${target.id}/move`, {
        method: "POST",
        body: JSON.stringify({ destinationId: "archive" }),
      });
      assert.deepEqual(
        events.map((event) => [event.changeType, event.messageId]),
        [
          ["updated", target.id],
          ["deleted", target.id],
          ["created", target.id],
        ],
      );
      assert.equal(events[1]!.folderId, target.parentFolderId);
    } finally {
      h.sandbox.state.events.off("mail-change", listener);
    }
  });
});
