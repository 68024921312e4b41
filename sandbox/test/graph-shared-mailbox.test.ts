// Shared mailboxes as Exchange Online and Graph treat them: a mailbox nobody signs into, opened by
// a signed-in user through `/users/{id or address}/…` with the `.Shared` scopes and a FullAccess
// grant, and sent from with SendAs (learn.microsoft.com/graph/outlook-share-messages-folders,
// /graph/outlook-send-mail-from-other-user).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { until } from "../../test/support/until.ts";
import type { SandboxUser } from "../src/state.ts";
import { type GraphHarness, message, type Page, startGraphHarness } from "./graph-helpers.ts";

const SHARED_SCOPES = [
  "User.Read",
  "Mail.ReadWrite",
  "Mail.Send",
  "Mail.ReadWrite.Shared",
  "Mail.Send.Shared",
];

describe("Graph: shared mailboxes through a signed-in user", () => {
  let h: GraphHarness;
  let delegate: SandboxUser;
  let outsider: SandboxUser;
  let shared: { id: string; email: string };

  async function admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${h.sandbox.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function graphError(response: Response): Promise<{ status: number; code: string; message: string }> {
    const body = (await response.json()) as { error: { code: string; message: string } };
    return { status: response.status, code: body.error.code, message: body.error.message };
  }

  before(async () => {
    h = await startGraphHarness();
    delegate = h.addUser("dana");
    outsider = h.addUser("olly");
    const created = await admin("POST", "/_sandbox/users", { email: `sales@${h.domain}`, kind: "shared" });
    assert.equal(created.status, 201);
    shared = (await created.json()) as { id: string; email: string };
    const granted = await admin("POST", `/_sandbox/mailboxes/${shared.email}/permissions`, {
      user: delegate.email,
      rights: ["FullAccess", "SendAs"],
    });
    assert.equal(granted.status, 200);
  });
  after(async () => h.sandbox.close());

  test("a shared mailbox exists with a mailbox, and its account cannot sign in", async () => {
    const user = (await (await admin("GET", `/_sandbox/users/${shared.email}`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(user.kind, "shared");
    assert.equal(user.has_mailbox, true);
    assert.equal(user.disabled, true);
    const stored = h.sandbox.state.users.get(shared.id);
    assert.ok(stored?.disabled, "sign-in is blocked (AADSTS50057 for the account)");
    const mail = await admin("POST", "/_sandbox/mail", {
      from: "customer@example.com",
      to: [shared.email],
      subject: "To the shared mailbox",
      body: "hello",
    });
    assert.equal(mail.status, 201, "a shared mailbox receives mail");
  });

  test("a FullAccess delegate with Mail.ReadWrite.Shared reads and writes the mailbox by address and by id", async () => {
    const token = h.token(delegate, SHARED_SCOPES);
    const byAddress = await h.json<Page>(token, `/users/${shared.email}/mailFolders/inbox/messages?$top=5`);
    assert.ok(Array.isArray(byAddress.value));
    const draft = await h.json<{ id: string; from?: unknown }>(token, `/users/${shared.id}/messages`, {
      method: "POST",
      body: JSON.stringify(message("Draft in the shared mailbox", [delegate.email])),
    });
    const again = await h.json<{ id: string; isDraft: boolean }>(
      token,
      `/users/${shared.email}/messages/${draft.id}`,
    );
    assert.equal(again.isDraft, true);
  });

  test("without the .Shared scope Graph answers 403 ErrorAccessDenied even with the grant", async () => {
    const token = h.token(delegate, ["User.Read", "Mail.ReadWrite", "Mail.Send"]);
    const error = await graphError(await h.call(token, `/users/${shared.email}/mailFolders/inbox/messages`));
    assert.deepEqual([error.status, error.code], [403, "ErrorAccessDenied"]);
    assert.equal(error.message, "Access is denied. Check credentials and try again.");
  });

  test("without a FullAccess grant Graph answers 403 ErrorAccessDenied even with the scope", async () => {
    const token = h.token(outsider, SHARED_SCOPES);
    const error = await graphError(await h.call(token, `/users/${shared.email}/messages`));
    assert.deepEqual([error.status, error.code], [403, "ErrorAccessDenied"]);
  });

  test("Mail.Read.Shared reads but does not write", async () => {
    const token = h.token(delegate, ["User.Read", "Mail.Read.Shared"]);
    const read = await h.call(token, `/users/${shared.email}/messages?$top=1`);
    assert.equal(read.status, 200);
    const write = await h.call(token, `/users/${shared.email}/messages`, {
      method: "POST",
      body: JSON.stringify(message("No", [delegate.email])),
    });
    assert.equal((await graphError(write)).code, "ErrorAccessDenied");
  });

  test("an unknown address answers 404 ErrorInvalidUser", async () => {
    const token = h.token(delegate, SHARED_SCOPES);
    const error = await graphError(await h.call(token, `/users/nobody@${h.domain}/messages`));
    assert.deepEqual([error.status, error.code], [404, "ErrorInvalidUser"]);
  });

  test("sending from the shared mailbox sends as its address and keeps the copy in its Sent Items", async () => {
    const token = h.token(delegate, SHARED_SCOPES);
    const response = await h.call(token, `/users/${shared.email}/sendMail`, {
      method: "POST",
      body: JSON.stringify({ message: message("From sales", [outsider.email]) }),
    });
    assert.equal(response.status, 202);
    const received = await until("the mail in the recipient's inbox", async () => {
      const page = await h.json<Page>(
        h.token(outsider),
        `/me/mailFolders/inbox/messages?$filter=${encodeURIComponent("subject eq 'From sales'")}&$select=from,sender`,
      );
      return page.value[0];
    });
    const from = received.from as { emailAddress: { address: string } };
    const sender = received.sender as { emailAddress: { address: string } };
    assert.equal(from.emailAddress.address, shared.email);
    assert.equal(sender.emailAddress.address, shared.email, "Send As: sender and from are the same");
    const sent = await h.json<Page>(
      token,
      `/users/${shared.email}/mailFolders/sentitems/messages?$filter=${encodeURIComponent("subject eq 'From sales'")}`,
    );
    assert.equal(sent.value.length, 1);
  });

  test("without SendAs Graph answers 403 ErrorSendAsDenied, and a revoked FullAccess closes the mailbox", async () => {
    const revokeSendAs = await admin("DELETE", `/_sandbox/mailboxes/${shared.email}/permissions`, {
      user: delegate.email,
      rights: ["SendAs"],
    });
    assert.deepEqual(((await revokeSendAs.json()) as { permissions: unknown[] }).permissions, [
      { user: delegate.email, rights: ["FullAccess"] },
    ]);
    const token = h.token(delegate, SHARED_SCOPES);
    const draft = await h.json<{ id: string }>(token, `/users/${shared.email}/messages`, {
      method: "POST",
      body: JSON.stringify(message("Not sent", [outsider.email])),
    });
    const send = await graphError(
      await h.call(token, `/users/${shared.email}/messages/${draft.id}/send`, { method: "POST" }),
    );
    assert.deepEqual([send.status, send.code], [403, "ErrorSendAsDenied"]);
    assert.match(
      send.message,
      /does not have the right to send mail on behalf of the specified sending account/,
    );

    await admin("DELETE", `/_sandbox/mailboxes/${shared.email}/permissions?user=${delegate.email}`);
    const closed = await graphError(await h.call(token, `/users/${shared.email}/messages`));
    assert.deepEqual([closed.status, closed.code], [403, "ErrorAccessDenied"]);
    await admin("POST", `/_sandbox/mailboxes/${shared.email}/permissions`, {
      user: delegate.email,
      rights: ["FullAccess", "SendAs"],
    });
  });

  test("/me/sendMail with `from` set to the shared mailbox sends as it with SendAs, and answers ErrorSendAsDenied otherwise", async () => {
    const token = h.token(delegate, SHARED_SCOPES);
    const asShared = await h.call(token, "/me/sendMail", {
      method: "POST",
      body: JSON.stringify({
        message: message("Via me as sales", [outsider.email], {
          from: { emailAddress: { address: shared.email } },
        }),
      }),
    });
    assert.equal(asShared.status, 202);
    const received = await until("the mail sent as sales through /me", async () => {
      const page = await h.json<Page>(
        h.token(outsider),
        `/me/mailFolders/inbox/messages?$filter=${encodeURIComponent("subject eq 'Via me as sales'")}&$select=from`,
      );
      return page.value[0];
    });
    assert.equal((received.from as { emailAddress: { address: string } }).emailAddress.address, shared.email);

    const denied = await graphError(
      await h.call(h.token(outsider, SHARED_SCOPES), "/me/sendMail", {
        method: "POST",
        body: JSON.stringify({
          message: message("Not as sales", [delegate.email], {
            from: { emailAddress: { address: shared.email } },
          }),
        }),
      }),
    );
    assert.deepEqual([denied.status, denied.code], [403, "ErrorSendAsDenied"]);
  });

  test("$batch steps on the shared mailbox are checked like single calls", async () => {
    const token = h.token(outsider, SHARED_SCOPES);
    const response = await h.json<{
      responses: { id: string; status: number; body: { error?: { code: string } } }[];
    }>(token, "/$batch", {
      method: "POST",
      body: JSON.stringify({
        requests: [{ id: "1", method: "GET", url: `/users/${shared.email}/mailFolders/inbox` }],
      }),
    });
    assert.equal(response.responses[0]?.status, 403);
    assert.equal(response.responses[0]?.body.error?.code, "ErrorAccessDenied");
  });

  test("a change-notification subscription on the shared mailbox is refused (the .Shared scopes do not cover them)", async () => {
    const token = h.token(delegate, SHARED_SCOPES);
    const response = await h.call(token, "/subscriptions", {
      method: "POST",
      body: JSON.stringify({
        changeType: "created",
        notificationUrl: "https://example.com/hook",
        resource: `/users/${shared.email}/mailFolders('inbox')/messages`,
        expirationDateTime: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    assert.equal(response.status, 403);
  });

  test("the admin API rejects unknown rights and unknown users", async () => {
    const badRight = await admin("POST", `/_sandbox/mailboxes/${shared.email}/permissions`, {
      user: delegate.email,
      rights: ["Owner"],
    });
    assert.equal(badRight.status, 400);
    const badUser = await admin("POST", `/_sandbox/mailboxes/${shared.email}/permissions`, { user: "x@y.z" });
    assert.equal(badUser.status, 400);
    const badMailbox = await admin("GET", "/_sandbox/mailboxes/none@nowhere.test/permissions");
    assert.equal(badMailbox.status, 400);
  });
});
