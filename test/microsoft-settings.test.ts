// The operator's Azure app settings and the credential check that explains what is wrong.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { type Sandbox, startSandbox } from "../sandbox/src/server.ts";
import { requestedScopes } from "../src/providers/microsoft/identity.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { runMailroom } from "./support/cli.ts";
import { freePort } from "./support/connect-harness.ts";

/** A signed-in dashboard admin's cookie and CSRF header. */
async function dashboardSession(t: TestApp): Promise<Record<string, string>> {
  const link = await t.services.admins.createLink();
  const token = new URL(link.url).searchParams.get("token") ?? "";
  const created = await t.app.inject({
    method: "POST",
    url: "/dashboard/api/setup",
    headers: { "x-mailroom-csrf": "1" },
    payload: { token, email: "ops@example.com", password: "a long enough password" },
  });
  assert.equal(created.statusCode, 200, created.body);
  const cookie = String(created.headers["set-cookie"]).split(";")[0]!;
  const session = (await t.app.inject({ url: "/dashboard/api/session", headers: { cookie } })).json();
  return { cookie, "x-mailroom-csrf": session.csrfToken };
}

describe("Microsoft OAuth settings and the credential check", () => {
  let sandbox: Sandbox;
  let t: TestApp;
  before(async () => {
    sandbox = await startSandbox({ port: 0, seedCorpus: false });
    t = await createTestApp("sqlite", { MICROSOFT_LOGIN_URL: sandbox.url, MICROSOFT_GRAPH_URL: sandbox.url });
  });
  after(async () => {
    await t.dispose();
    await sandbox.close();
  });

  async function registerApp(
    body: Record<string, unknown>,
  ): Promise<{ client_id: string; client_secret: string }> {
    const res = await fetch(`${sandbox.url}/_sandbox/apps`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        name: "Operator app",
        redirect_uris: ["http://localhost:3000/api/v1/hosted/microsoft_auth_request_callback"],
        sign_in_audience: "AzureADandPersonalMicrosoftAccount",
        ...body,
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { client_id: string; client_secret: string };
  }

  it("valid credentials are accepted and the secret is never returned", async () => {
    const saved = await t.services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
    });
    assert.equal(saved.check?.result, "valid");
    assert.equal(saved.hasSecret, true);
    assert.equal(JSON.stringify(saved).includes(SEEDED_APP.clientSecret), false);
  });

  it("the secret's ID instead of its Value is diagnosed as a wrong secret, with the fix", async () => {
    const saved = await t.services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.secretId,
    });
    assert.equal(saved.check?.result, "wrong_secret");
    assert.equal(saved.check?.aadsts, 7000215);
    assert.match(saved.check!.fix!, /Value, not its Secret ID/);
  });

  it("an expired secret is diagnosed as expired", async () => {
    const app = await registerApp({});
    const expire = await fetch(`${sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "expire_secret", client_id: app.client_id }),
    });
    assert.ok(expire.ok, await expire.text());
    const saved = await t.services.microsoftSettings.save({
      clientId: app.client_id,
      clientSecret: app.client_secret,
    });
    assert.equal(saved.check?.result, "expired_secret");
    assert.match(saved.check!.message, /expired/);
  });

  it("an unknown application id is diagnosed as unknown app", async () => {
    const saved = await t.services.microsoftSettings.save({
      clientId: "11111111-2222-3333-4444-555555555555",
      clientSecret: "x",
    });
    assert.equal(saved.check?.result, "unknown_app");
    assert.match(saved.check!.fix!, /Application \(client\) ID/);
  });

  it("a client id that is not a GUID is refused before anything is stored", async () => {
    await assert.rejects(
      t.services.microsoftSettings.save({ clientId: "my-app", clientSecret: "x" }),
      /client_id: must be the Application \(client\) ID/,
    );
  });

  it("an unreachable Microsoft is reported as such, not as a bad secret", async () => {
    const port = await freePort();
    const offline = await createTestApp("sqlite", {
      MICROSOFT_LOGIN_URL: `http://127.0.0.1:${port}`,
      MICROSOFT_GRAPH_URL: `http://127.0.0.1:${port}`,
    });
    const saved = await offline.services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
    });
    assert.equal(saved.check?.result, "unreachable");
    assert.match(saved.check!.fix!, /MICROSOFT_LOGIN_URL/);
    await offline.dispose();
  });

  it("turning on shared mailboxes keeps every other setting, adds the .Shared scopes to sign-in but never to refresh", async () => {
    await t.services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      displayName: "Acme Mail",
    });
    const before = (await t.services.microsoftSettings.get())!;
    assert.equal(before.sharedMailboxes, false);
    const on = await t.services.microsoftSettings.setSharedMailboxes(true);
    assert.equal(on.sharedMailboxes, true);
    for (const key of [
      "clientId",
      "displayName",
      "audience",
      "secretExpiresAt",
      "hasSecret",
      "check",
    ] as const)
      assert.deepEqual(on[key], before[key], key);
    const app = await t.services.microsoftSettings.app();
    assert.equal(app.clientSecret, SEEDED_APP.clientSecret);
    const signIn = requestedScopes(app);
    assert.ok(signIn.includes("https://graph.microsoft.com/Mail.ReadWrite.Shared"));
    assert.ok(signIn.includes("https://graph.microsoft.com/Mail.Send.Shared"));
    assert.equal(
      requestedScopes(app, true).some((scope) => scope.endsWith(".Shared")),
      false,
    );
    // Saving the credentials again without saying otherwise keeps the choice.
    const resaved = await t.services.microsoftSettings.save({ clientId: SEEDED_APP.clientId });
    assert.equal(resaved.sharedMailboxes, true);
    assert.equal((await t.services.microsoftSettings.setSharedMailboxes(false)).sharedMailboxes, false);
  });

  it("the dashboard's Microsoft settings switch shared mailboxes and list the permissions to add in Azure", async () => {
    const headers = await dashboardSession(t);
    const put = await t.app.inject({
      method: "PUT",
      url: "/dashboard/api/settings/microsoft",
      headers,
      payload: { clientId: SEEDED_APP.clientId, sharedMailboxes: true },
    });
    assert.equal(put.statusCode, 200, put.body);
    const body = put.json() as { settings: { sharedMailboxes: boolean }; delegatedPermissions: string[] };
    assert.equal(body.settings.sharedMailboxes, true);
    assert.deepEqual(body.delegatedPermissions, [
      "Mail.ReadWrite",
      "Mail.Send",
      "Mail.Read",
      "Mail.ReadWrite.Shared",
      "Mail.Send.Shared",
    ]);
    const off = await t.app.inject({
      method: "PUT",
      url: "/dashboard/api/settings/microsoft",
      headers,
      payload: { clientId: SEEDED_APP.clientId, sharedMailboxes: false },
    });
    assert.deepEqual((off.json() as { delegatedPermissions: string[] }).delegatedPermissions, [
      "Mail.ReadWrite",
      "Mail.Send",
      "Mail.Read",
    ]);
  });

  it("a secret that expires within 30 days raises a warning in the logs and the settings", async () => {
    const inTenDays = Date.now() + 10 * 86_400_000;
    await t.services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      secretExpiresAt: inTenDays,
    });
    const warning = await t.services.microsoftSettings.secretExpiryWarning();
    assert.ok(warning && warning.daysLeft >= 9 && warning.daysLeft <= 10);
    assert.match(t.logs.text, /client secret expires in \d+ day/);
    const metrics = await t.app.inject({ method: "GET", url: "/metrics" });
    assert.match(metrics.body, /mailroom_microsoft_secret_expiry_days (9|10)\n/);
    assert.match(metrics.body, /mailroom_microsoft_app_problem 0\n/);
  });
});

describe("npx mailroom settings microsoft", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ port: 0, seedCorpus: false });
  });
  after(async () => {
    await sandbox.close();
  });

  it("reads the secret from stdin, checks it, and prints the redirect URIs to register", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const env = {
      DATA_DIR: mkdtempSync(join(tmpdir(), "mailroom-settings-")),
      SANDBOX: "off",
      PUBLIC_URL: "https://mail.example.com",
      MICROSOFT_LOGIN_URL: sandbox.url,
      MICROSOFT_GRAPH_URL: sandbox.url,
    };
    const result = await runMailroom(
      [
        "settings",
        "microsoft",
        "--client-id",
        SEEDED_APP.clientId,
        "--client-secret-stdin",
        "--secret-expires",
        "2099-06-30",
      ],
      env,
      { input: `${SEEDED_APP.clientSecret}\n` },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Credential check: OK/);
    assert.match(
      result.stdout,
      /https:\/\/mail\.example\.com\/api\/v1\/hosted\/microsoft_auth_request_callback\n/,
    );
    assert.match(
      result.stdout,
      /https:\/\/mail\.example\.com\/api\/v1\/hosted\/microsoft_auth_request_callback\/port443/,
    );
    assert.match(result.stdout, /Secret expires: 2099-06-30/);
    assert.equal(result.stdout.includes(SEEDED_APP.clientSecret), false);
    assert.equal(result.stderr.includes(SEEDED_APP.clientSecret), false);

    const wrong = await runMailroom(
      ["settings", "microsoft", "--client-id", SEEDED_APP.clientId, "--client-secret-stdin"],
      env,
      { input: "nope\n" },
    );
    assert.equal(wrong.code, 0);
    assert.match(wrong.stdout, /Credential check: wrong_secret/);
    assert.match(wrong.stdout, /Fix: Paste the secret's Value/);

    const shared = await runMailroom(["settings", "microsoft", "--shared-mailboxes", "on"], env);
    assert.equal(shared.code, 0, shared.stderr);
    assert.match(shared.stdout, /Shared mailboxes: on/);
    assert.match(shared.stdout, /Secret expires: 2099-06-30/, "other settings unchanged");
    assert.match(
      shared.stdout,
      /Delegated Microsoft Graph permissions: Mail.ReadWrite, Mail.Send, Mail.Read, Mail.ReadWrite.Shared, Mail.Send.Shared/,
    );
    const badValue = await runMailroom(["settings", "microsoft", "--shared-mailboxes", "yes"], env);
    assert.notEqual(badValue.code, 0);
    assert.match(badValue.stderr, /--shared-mailboxes must be on or off/);
  });
});
