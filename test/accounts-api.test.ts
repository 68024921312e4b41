// The accounts API through the official unipile-node-sdk in strict validation mode.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { obtainTokens } from "../sandbox/test/identity-helpers.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

/** Tokens the operator obtained itself, for its own app, with the scopes Mailroom requests. */
const SCOPES = {
  scope:
    "openid profile email offline_access https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read",
};

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;

async function sdkError(
  promise: Promise<unknown>,
): Promise<{ status: number; type: string; detail?: string }> {
  try {
    await promise;
  } catch (error) {
    return (error as { body: { status: number; type: string; detail?: string } }).body;
  }
  throw new Error("expected the call to fail");
}

describe("accounts API", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  before(async () => {
    h = await startConnectHarness();
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    const link = await h.createLink({ type: "create", providers: "*" });
    await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), link.json.url as string, {
      email: "adele.vance@contoso.onmicrosoft.com",
      password: SEED_PASSWORD,
    });
    adeleId = (await h.services.repos.accounts.page(10))[0]!.id;
  });
  after(async () => {
    await h.dispose();
  });

  it("getOne returns the Outlook account exactly as the SDK validates it", async () => {
    const account = (await client.account.getOne(adeleId)) as unknown as Record<string, unknown>;
    assert.equal(account.object, "Account");
    assert.equal(account.type, "OUTLOOK");
    assert.equal(account.id, adeleId);
    assert.match(String(account.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(account.groups, []);
    assert.deepEqual(account.sources, [{ id: `${adeleId}_MAILS`, status: "OK" }]);
    const params = account.connection_params as { mail: { id: string; username: string } };
    assert.equal(params.mail.username, "adele.vance@contoso.onmicrosoft.com");
  });

  it("an unknown id is 404 errors/resource_not_found", async () => {
    const body = await sdkError(client.account.getOne("AAAAAAAAAAAAAAAAAAAAAA"));
    assert.equal(body.status, 404);
    assert.equal(body.type, "errors/resource_not_found");
  });

  it("the list pages with a standard-base64 cursor and limit 1–250", async () => {
    const page = (await client.account.getAll({ limit: 1 })) as { items: unknown[]; cursor: string | null };
    assert.equal(page.items.length, 1);
    const bad = await h.app.inject({
      method: "GET",
      url: "/api/v1/accounts?limit=0",
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(bad.statusCode, 400);
  });

  it("native connect with tokens of the operator's app creates the account after proving the refresh token works", async () => {
    const tokens = await obtainTokens(
      h.sandbox,
      "megan.bowen@contoso.onmicrosoft.com",
      SEED_PASSWORD,
      SCOPES,
    );
    const refreshesBefore = h.sandbox.state.counters.tokenRefreshes;
    const created = (await client.account.connect({
      provider: "OUTLOOK",
      access_token: String(tokens.access_token),
      refresh_token: String(tokens.refresh_token),
      username: "megan.bowen@contoso.onmicrosoft.com",
      id: "megan",
    } as never)) as { object: string; account_id: string };
    assert.equal(created.object, "AccountCreated");
    assert.equal(h.sandbox.state.counters.tokenRefreshes, refreshesBefore + 1);
    const account = (await client.account.getOne(created.account_id)) as unknown as { name: string };
    assert.equal(account.name, "megan.bowen@contoso.onmicrosoft.com");

    // The same mailbox again is the same account.
    const again = await obtainTokens(h.sandbox, "megan.bowen@contoso.onmicrosoft.com", SEED_PASSWORD, SCOPES);
    const second = (await client.account.connect({
      provider: "OUTLOOK",
      access_token: String(again.access_token),
      refresh_token: String(again.refresh_token),
      username: "x",
      id: "x",
    } as never)) as { account_id: string };
    assert.equal(second.account_id, created.account_id);
  });

  it("native reconnect keeps the id; tokens of another mailbox are refused with errors/wrong_account", async () => {
    const own = await obtainTokens(h.sandbox, "adele.vance@contoso.onmicrosoft.com", SEED_PASSWORD, SCOPES);
    const reconnected = (await client.account.reconnect({
      account_id: adeleId,
      provider: "OUTLOOK",
      access_token: String(own.access_token),
      refresh_token: String(own.refresh_token),
      username: "a",
      id: "a",
    } as never)) as { object: string; account_id: string };
    assert.deepEqual(reconnected, { object: "AccountReconnected", account_id: adeleId });
    const other = await obtainTokens(h.sandbox, "alex.wilber@contoso.onmicrosoft.com", SEED_PASSWORD, SCOPES);
    const body = await sdkError(
      client.account.reconnect({
        account_id: adeleId,
        provider: "OUTLOOK",
        access_token: String(other.access_token),
        refresh_token: String(other.refresh_token),
        username: "a",
        id: "a",
      } as never),
    );
    assert.equal(body.status, 401);
    assert.equal(body.type, "errors/wrong_account");
  });

  it("a refresh token Microsoft rejects is 401 errors/invalid_credentials and creates nothing", async () => {
    const before = (await h.services.repos.accounts.page(100)).length;
    const body = await sdkError(
      client.account.connect({
        provider: "OUTLOOK",
        access_token: "x",
        refresh_token: "not-a-refresh-token",
        username: "x",
        id: "x",
      } as never),
    );
    assert.equal(body.status, 401);
    assert.equal(body.type, "errors/invalid_credentials");
    assert.equal((await h.services.repos.accounts.page(100)).length, before);
  });

  it("a body missing refresh_token is 400 naming it", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/accounts",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      payload: { provider: "OUTLOOK", access_token: "x" },
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().detail, /refresh_token/);
  });

  it("another of Unipile's providers is 501 errors/feature_not_implemented, on connect and reconnect (SDK)", async () => {
    const connect = await sdkError(
      client.account.connectLinkedin({ username: "someone@example.com", password: "secret" } as never),
    );
    assert.deepEqual([connect.status, connect.type], [501, "errors/feature_not_implemented"]);
    assert.match(String(connect.detail), /Microsoft accounts only/);
    const reconnect = await sdkError(
      client.account.reconnectLinkedin({
        account_id: adeleId,
        username: "someone@example.com",
        password: "secret",
      } as never),
    );
    assert.deepEqual([reconnect.status, reconnect.type], [501, "errors/feature_not_implemented"]);
  });

  it("POST /api/v1/accounts/checkpoint: Microsoft accounts have no checkpoints (400 saying so); other providers are 501", async () => {
    const outlook = await fetch(`${h.baseUrl}/api/v1/accounts/checkpoint`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ provider: "OUTLOOK", account_id: adeleId, code: "123456" }),
    });
    assert.equal(outlook.status, 400);
    const body = (await outlook.json()) as { status: number; type: string; title: string; detail: string };
    assert.deepEqual([body.status, body.type], [400, "errors/invalid_parameters"]);
    assert.match(body.detail, /Microsoft accounts have no checkpoints/);
    assert.doesNotMatch(body.detail, /access_token|refresh_token/, "not validated as a reconnect");

    const linkedin = await sdkError(
      client.account.solveCodeCheckpoint({ provider: "LINKEDIN", account_id: adeleId, code: "123456" }),
    );
    assert.deepEqual([linkedin.status, linkedin.type], [501, "errors/feature_not_implemented"]);

    const resend = await fetch(`${h.baseUrl}/api/v1/accounts/checkpoint/resend`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ provider: "OUTLOOK", account_id: adeleId }),
    });
    assert.equal(resend.status, 400);
    assert.match(((await resend.json()) as { detail: string }).detail, /no checkpoints/);

    const missing = await fetch(`${h.baseUrl}/api/v1/accounts/checkpoint`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ provider: "OUTLOOK" }),
    });
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { detail: string }).detail, /account_id/);
  });

  it("delete answers AccountDeleted and destroys the stored tokens", async () => {
    const deleted = (await client.account.delete(adeleId)) as { object: string };
    assert.equal(deleted.object, "AccountDeleted");
    assert.equal(await h.services.repos.accounts.findById(adeleId), undefined);
    const body = await sdkError(client.account.getOne(adeleId));
    assert.equal(body.status, 404);
  });
});
