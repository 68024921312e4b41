// Shared mailboxes through a connected user (docs/shared-mailboxes.md), end to end against the
// sandbox's Graph over HTTP: opening one, reading, sending as it, the errors that say what is
// missing, the account list through the SDK's strict validation, and deletion with the delegate.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const SALES = "sales@contoso.onmicrosoft.com";
const SUPPORT = "support@contoso.onmicrosoft.com";

type Problem = { status: number; type: string; detail?: string };

/** Every message of a sandbox mailbox, all folders. */
function messagesOf(h: ConnectHarness, email: string) {
  const store = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(email)!.id);
  return [...store.folders.values()].flatMap((folder) => folder.messages);
}

describe("shared mailboxes through a connected user", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;
  let salesId: string;

  const api = (method: string, url: string, body?: unknown) =>
    fetch(`${h.baseUrl}${url}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const open = (accountId: string, email: string) =>
    api("POST", `/api/v1/accounts/${accountId}/shared_mailboxes`, { email });
  const sandboxAdmin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${h.sandbox.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, await res.clone().text());
  };

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    // Megan signs in before shared mailboxes are on: her token has no .Shared scope.
    meganId = (await h.connectMailboxes([MEGAN]))[MEGAN]!;
    await h.services.microsoftSettings.setSharedMailboxes(true);
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    for (const email of [SALES, SUPPORT])
      await sandboxAdmin("POST", "/_sandbox/users", { email, kind: "shared" });
    await sandboxAdmin("POST", `/_sandbox/mailboxes/${SALES}/permissions`, {
      user: ADELE,
      rights: ["FullAccess", "SendAs"],
    });
    await sandboxAdmin("POST", `/_sandbox/mailboxes/${SALES}/permissions`, {
      user: MEGAN,
      rights: ["FullAccess"],
    });
  });
  after(async () => {
    await h.dispose();
  });

  it("a user with FullAccess and the .Shared scope opens the mailbox: 201 AccountCreated, then the same id", async () => {
    const res = await open(adeleId, SALES);
    assert.equal(res.status, 201, await res.clone().text());
    const body = (await res.json()) as { object: string; account_id: string };
    assert.equal(body.object, "AccountCreated");
    salesId = body.account_id;
    assert.notEqual(salesId, adeleId);

    const again = await open(adeleId, SALES.toUpperCase());
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), { object: "AccountCreated", account_id: salesId });
    const throughMegan = await open(meganId, SALES);
    assert.deepEqual(await throughMegan.json(), { object: "AccountCreated", account_id: salesId });
    const rows = (await h.services.repos.accounts.page(250)).filter((row) => row.email === SALES);
    assert.equal(rows.length, 1, "one mailbox is never two accounts");
    assert.equal(rows[0]?.access_token, null, "the shared account holds no tokens of its own");
  });

  it("the shared account reads its own mailbox through the email and folder routes", async () => {
    await sandboxAdmin("POST", "/_sandbox/mail", {
      from: "customer@example.com",
      to: [SALES],
      subject: "Quote request",
      body: "Please send a quote.",
    });
    const found = await until("the mail in the shared inbox", async () => {
      const list = (await client.email.getAll({
        account_id: salesId,
        role: "inbox",
        limit: 20,
      })) as unknown as {
        items: { subject: string; id: string }[];
      };
      return list.items.find((email) => email.subject === "Quote request");
    });
    const one = await api("GET", `/api/v1/emails/${found.id}`);
    assert.equal(one.status, 200);
    const folders = await api("GET", `/api/v1/folders?account_id=${salesId}`);
    assert.equal(folders.status, 200, await folders.clone().text());
  });

  it("sending from the shared account sends as the shared address", async () => {
    const res = await api("POST", "/api/v1/emails", {
      account_id: salesId,
      to: [{ identifier: MEGAN }],
      subject: "Your quote",
      body: "Attached soon.",
    });
    assert.equal(res.status, 201, await res.clone().text());
    const received = await until("the mail in Megan's inbox", async () =>
      messagesOf(h, MEGAN).find((m) => m.subject === "Your quote" && !m.isDraft),
    );
    assert.equal(received.from?.address, SALES);
    assert.ok(
      messagesOf(h, SALES).some((m) => m.subject === "Your quote" && !m.isDraft),
      "kept in its Sent Items",
    );
  });

  it("a draft made through the shared account sits in the shared mailbox's Drafts", async () => {
    const res = await api("POST", "/api/v1/drafts", {
      account_id: salesId,
      to: [{ identifier: MEGAN }],
      subject: "Draft for sales",
      body: "<p>later</p>",
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(messagesOf(h, SALES).some((m) => m.subject === "Draft for sales" && m.isDraft));
    assert.ok(!messagesOf(h, ADELE).some((m) => m.subject === "Draft for sales"));
  });

  it("without Send As, sending answers 422 errors/send_as_denied", async () => {
    await sandboxAdmin("DELETE", `/_sandbox/mailboxes/${SALES}/permissions`, {
      user: ADELE,
      rights: ["SendAs"],
    });
    try {
      const res = await api("POST", "/api/v1/emails", {
        account_id: salesId,
        to: [{ identifier: MEGAN }],
        subject: "Not allowed",
        body: "x",
      });
      const problem = (await res.json()) as Problem;
      assert.equal(res.status, 422, JSON.stringify(problem));
      assert.equal(problem.type, "errors/send_as_denied");
      assert.match(problem.detail ?? "", /Send As/);
    } finally {
      await sandboxAdmin("POST", `/_sandbox/mailboxes/${SALES}/permissions`, {
        user: ADELE,
        rights: ["SendAs"],
      });
    }
  });

  it("the answers say what is missing: the scope, the grant, or the mailbox itself", async () => {
    await sandboxAdmin("POST", "/_sandbox/users", { email: "desk@contoso.onmicrosoft.com", kind: "shared" });
    await sandboxAdmin("POST", "/_sandbox/mailboxes/desk@contoso.onmicrosoft.com/permissions", {
      user: MEGAN,
    });
    const noScope = await open(meganId, "desk@contoso.onmicrosoft.com");
    const scopeProblem = (await noScope.json()) as Problem;
    assert.equal(noScope.status, 403);
    assert.equal(scopeProblem.type, "errors/insufficient_permissions");
    assert.match(scopeProblem.detail ?? "", /Scope missing: .*Mail\.ReadWrite\.Shared.*reconnect/);

    const noGrant = await open(adeleId, SUPPORT);
    const grantProblem = (await noGrant.json()) as Problem;
    assert.equal(noGrant.status, 403);
    assert.match(grantProblem.detail ?? "", /Grant missing: .*Full Access to support@/);

    const unknown = await open(adeleId, "nobody@contoso.onmicrosoft.com");
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as Problem).type, "errors/resource_not_found");
    assert.equal((await open("AAAAAAAAAAAAAAAAAAAAAA", SALES)).status, 404);
    assert.equal((await open(adeleId, "not an address")).status, 400);
    assert.equal((await open(salesId, SUPPORT)).status, 400, "a shared mailbox opens nothing");
    assert.equal((await open(adeleId, ADELE)).status, 400, "the user's own mailbox");
    const extra = await api("POST", `/api/v1/accounts/${adeleId}/shared_mailboxes`, { email: SALES, x: 1 });
    assert.equal(extra.status, 400);
  });

  it("with shared mailboxes off, opening one answers 403 saying how to turn them on", async () => {
    await h.services.microsoftSettings.setSharedMailboxes(false);
    try {
      const res = await open(adeleId, SUPPORT);
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as Problem).detail ?? "", /--shared-mailboxes on/);
    } finally {
      await h.services.microsoftSettings.setSharedMailboxes(true);
    }
  });

  it("the account list names the user each shared mailbox is reached through, and passes the SDK's strict validation", async () => {
    const list = (await client.account.getAll({ limit: 50 })) as unknown as {
      items: { id: string; reached_through?: { account_id: string; username: string } }[];
    };
    const sales = list.items.find((item) => item.id === salesId);
    assert.deepEqual(sales?.reached_through, { account_id: adeleId, username: ADELE });
    assert.equal(list.items.find((item) => item.id === adeleId)?.reached_through, undefined);
    const one = (await client.account.getOne(salesId)) as unknown as {
      connection_params: { mail: { username: string } };
      sources: { status: string }[];
    };
    assert.equal(one.connection_params.mail.username, SALES);
    assert.equal(one.sources[0]?.status, "OK");
  });

  it("when the delegate must sign in again, so must its shared mailbox; a reconnect link for either signs the delegate in and brings both back", async () => {
    await sandboxAdmin("POST", "/_sandbox/scenarios", { action: "revoke_tokens", user: ADELE });
    await assert.rejects(h.services.tokens.getAccessToken(adeleId, { forceRefresh: true }), {
      code: "disconnected_account",
    });
    assert.equal((await h.services.repos.accounts.findById(salesId))?.status, "CREDENTIALS");
    const read = await api("GET", `/api/v1/emails?account_id=${salesId}`);
    assert.equal(read.status, 401);
    assert.equal(((await read.json()) as Problem).type, "errors/disconnected_account");
    const events = await h.services.storage.db
      .selectFrom("account_events")
      .select(["type"])
      .where("account_id", "=", salesId)
      .execute();
    assert.ok(events.some((event) => event.type === "CREDENTIALS"));

    // A reconnect link made for the shared account signs its delegate in again.
    const link = await h.createLink({ type: "reconnect", reconnect_account: salesId, providers: "*" });
    assert.equal(link.status, 200, JSON.stringify(link.json));
    await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), link.json.url as string, {
      email: ADELE,
      password: SEED_PASSWORD,
    });
    assert.equal((await h.services.repos.accounts.findById(adeleId))?.status, "OK");
    assert.equal((await h.services.repos.accounts.findById(salesId))?.status, "OK");
    const again = await api("GET", `/api/v1/emails?account_id=${salesId}`);
    assert.equal(again.status, 200, await again.clone().text());
  });

  it("the dashboard's account list shows the user a shared mailbox is reached through", async () => {
    const link = await h.services.admins.createLink();
    const token = new URL(link.url).searchParams.get("token") ?? "";
    const created = await h.app.inject({
      method: "POST",
      url: "/dashboard/api/setup",
      headers: { "x-mailroom-csrf": "1" },
      payload: { token, email: "ops@example.com", password: "a long enough password" },
    });
    const cookie = String(created.headers["set-cookie"]).split(";")[0]!;
    const list = await h.app.inject({ url: "/dashboard/api/accounts", headers: { cookie } });
    assert.equal(list.statusCode, 200, list.body);
    const accounts = (list.json() as { accounts: { id: string; reachedThrough: unknown }[] }).accounts;
    assert.deepEqual(accounts.find((a) => a.id === salesId)?.reachedThrough, {
      accountId: adeleId,
      email: ADELE,
    });
    assert.equal(accounts.find((a) => a.id === adeleId)?.reachedThrough, null);
  });

  it("deleting the delegate deletes the shared mailboxes it opened, each with a DELETED event", async () => {
    const res = await api("DELETE", `/api/v1/accounts/${adeleId}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await api("GET", `/api/v1/accounts/${salesId}`)).status, 404);
    const events = await h.services.storage.db
      .selectFrom("account_events")
      .select(["account_id", "type"])
      .where("type", "=", "DELETED")
      .execute();
    assert.ok(events.some((event) => event.account_id === adeleId));
    assert.ok(events.some((event) => event.account_id === salesId));
    assert.ok(await h.services.repos.accounts.findById(meganId), "other accounts stay");
  });
});
