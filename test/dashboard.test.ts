// The operator dashboard's API: first-run setup, sessions, CSRF, rate-limited sign-in, Microsoft
// settings with the credential check, accounts, API keys, and the SPA that never shadows the API.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { type Sandbox, startSandbox } from "../sandbox/src/server.ts";
import { DASHBOARD_PAGES } from "../src/contracts/dashboard/index.ts";
import { SIGN_IN_LIMIT } from "../src/domain/admins/admin.service.ts";
import { accountRow } from "./support/account-rows.ts";
import { createTestApp, type TestApp } from "./support/app.ts";

const API = "/dashboard/api";
const PASSWORD = "correct horse battery staple";

describe("dashboard", () => {
  let sandbox: Sandbox;
  let t: TestApp;
  let cookie = "";
  let csrf = "";

  before(async () => {
    sandbox = await startSandbox({ port: 0, seedCorpus: false });
    t = await createTestApp("sqlite", {
      MICROSOFT_LOGIN_URL: sandbox.url,
      MICROSOFT_GRAPH_URL: sandbox.url,
    });
  });
  after(async () => {
    await t?.dispose();
    await sandbox?.close();
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: "POST", url: `${API}${url}`, payload: payload as object, headers });
  const authed = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `${API}${url}`,
      headers: { cookie, "x-mailroom-csrf": csrf },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it("a fresh install needs setup, and the setup link works once", async () => {
    const session = (await t.app.inject({ url: `${API}/session` })).json();
    assert.equal(session.setupRequired, true);
    assert.equal(session.admin, null);
    const link = await t.services.admins.createLink();
    assert.equal(link.kind, "setup");
    assert.equal(link.expiresAt, null);
    const token = new URL(link.url).searchParams.get("token")!;
    assert.deepEqual((await t.app.inject({ url: `${API}/setup-link?token=${token}` })).json(), {
      kind: "setup",
      email: null,
    });

    const short = await post(
      "/setup",
      { token, email: "ops@example.com", password: "short" },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(short.statusCode, 400);
    assert.match(short.json().detail, /at least 12 characters/);

    const created = await post(
      "/setup",
      { token, email: "Ops@Example.com", password: PASSWORD },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(created.statusCode, 200, created.body);
    const setCookie = String(created.headers["set-cookie"]);
    assert.match(setCookie, /^mailroom_session=[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.doesNotMatch(setCookie, /Secure/, "http PUBLIC_URL: no Secure flag, or browsers would drop it");

    const again = await post(
      "/setup",
      { token, email: "x@example.com", password: PASSWORD },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(again.statusCode, 401);
    assert.match(again.json().detail, /already used/);
    // An older setup link stops working once an admin exists.
    const older = await t.services.admins.createLink();
    assert.equal(older.kind, "invite", "with an admin, new links are invitations");
  });

  it("signs in, exposes the session's CSRF token, and never stores the password", async () => {
    const res = await post(
      "/sign-in",
      { email: "ops@example.com", password: PASSWORD },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(res.statusCode, 200, res.body);
    cookie = String(res.headers["set-cookie"]).split(";")[0]!;
    const session = (await t.app.inject({ url: `${API}/session`, headers: { cookie } })).json();
    assert.equal(session.admin.email, "ops@example.com");
    assert.equal(session.setupRequired, false);
    csrf = session.csrfToken;
    assert.ok(csrf.length > 20);
    const rows = await t.services.storage.db
      .selectFrom("admins" as never)
      .selectAll()
      .execute();
    assert.equal(JSON.stringify(rows).includes(PASSWORD), false);
    assert.match(JSON.stringify(rows), /scrypt\$32768\$8\$1\$/);
  });

  it("rejects state changes without the CSRF header, with a wrong token, or from another origin", async () => {
    const none = await t.app.inject({
      method: "POST",
      url: `${API}/api-keys`,
      headers: { cookie },
      payload: { name: "x" },
    });
    assert.equal(none.statusCode, 403);
    assert.match(none.json().detail, /CSRF/);
    const wrong = await t.app.inject({
      method: "POST",
      url: `${API}/api-keys`,
      headers: { cookie, "x-mailroom-csrf": "nope" },
      payload: { name: "x" },
    });
    assert.equal(wrong.statusCode, 403);
    const foreign = await t.app.inject({
      method: "POST",
      url: `${API}/api-keys`,
      headers: { cookie, "x-mailroom-csrf": csrf, origin: "https://evil.example" },
      payload: { name: "x" },
    });
    assert.equal(foreign.statusCode, 403);
    assert.equal(
      (await t.services.apiKeys.list()).some((k) => k.name === "x"),
      false,
    );
  });

  it("every dashboard API route except session, setup and sign-in needs a session", async () => {
    for (const url of ["/settings/microsoft", "/accounts", "/api-keys", "/admins"]) {
      const res = await t.app.inject({ url: `${API}${url}` });
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.json().type, "errors/missing_credentials");
    }
    const apiKeyRoute = await t.app.inject({ url: "/api/v1/accounts", headers: { cookie } });
    assert.equal(apiKeyRoute.statusCode, 401, "a dashboard session is no API key");
  });

  it("rate-limits failed sign-ins per email and says when to retry", async () => {
    for (let i = 0; i < SIGN_IN_LIMIT.perEmail; i++) {
      const res = await post(
        "/sign-in",
        { email: "victim@example.com", password: "wrong password!" },
        { "x-mailroom-csrf": "1" },
      );
      assert.equal(res.statusCode, 401);
      assert.match(res.json().detail, /email or password is not correct/);
    }
    const limited = await post(
      "/sign-in",
      { email: "victim@example.com", password: "wrong password!" },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers["retry-after"]) > 0);
  });

  it("Microsoft settings: a wrong secret is diagnosed with the fix, the right one saves, and the secret is never returned", async () => {
    const page = (await authed("GET", "/settings/microsoft")).json();
    assert.deepEqual(page.redirectUris, t.services.hostedAuth.redirectUris());
    assert.deepEqual(page.delegatedPermissions, ["Mail.ReadWrite", "Mail.Send", "Mail.Read"]);
    const wrong = await authed("PUT", "/settings/microsoft", {
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.secretId,
      secretExpiresOn: "2099-12-31",
    });
    assert.equal(wrong.statusCode, 200, wrong.body);
    assert.equal(wrong.json().settings.check.result, "wrong_secret");
    assert.match(wrong.json().settings.check.fix, /Value, not its Secret ID/);
    const right = await authed("PUT", "/settings/microsoft", {
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      secretExpiresOn: "2099-12-31",
    });
    assert.equal(right.json().settings.check.result, "valid");
    assert.equal(right.body.includes(SEEDED_APP.clientSecret), false);
    assert.equal(
      right.json().publisher.json,
      JSON.stringify({ associatedApplications: [{ applicationId: SEEDED_APP.clientId }] }),
    );
    const keep = await authed("PUT", "/settings/microsoft", {
      clientId: SEEDED_APP.clientId,
      displayName: "Acme",
    });
    assert.equal(keep.json().settings.check.result, "valid", "an empty secret keeps the saved one");
    const badDate = await authed("PUT", "/settings/microsoft", {
      clientId: SEEDED_APP.clientId,
      secretExpiresOn: "31/12/2099",
    });
    assert.equal(badDate.statusCode, 400);
  });

  it("API keys: created once with the key, listed without it, revoked", async () => {
    const created = await authed("POST", "/api-keys", { name: "backend" });
    assert.equal(created.statusCode, 201);
    const { key, summary } = created.json();
    assert.match(key, /^mr_/);
    const list = await authed("GET", "/api-keys");
    assert.equal(list.body.includes(key), false);
    assert.ok(list.json().keys.some((k: { id: string }) => k.id === summary.id));
    assert.equal(
      (await t.app.inject({ url: "/api/v1/accounts", headers: { "x-api-key": key } })).statusCode,
      200,
    );
    assert.equal((await authed("DELETE", `/api-keys/${summary.id}`)).statusCode, 200);
    const after = await authed("GET", "/api-keys");
    assert.ok(after.json().keys.find((k: { id: string }) => k.id === summary.id).revokedAt);
  });

  it("accounts: a connect link is a hosted wizard link; search filters by name or email", async () => {
    const link = await authed("POST", "/accounts/link", {});
    assert.equal(link.statusCode, 200, link.body);
    assert.match(link.json().url, /\/hosted\/connect\//);
    const now = Date.now();
    for (const [id, email] of [
      ["a".repeat(22), "alice@contoso.com"],
      ["b".repeat(22), "bob_100%@fabrikam.com"],
    ] as const) {
      await t.services.repos.accounts.insert({
        id,
        type: "OUTLOOK",
        name: email,
        email,
        provider_user_id: id,
        tenant_id: "t",
        status: "CREDENTIALS",
        status_reason: "password_changed",
        access_token: null,
        refresh_token: null,
        access_token_expires_at: null,
        scopes: null,
        created_at: now,
        updated_at: now,
      });
    }
    const all = (await authed("GET", "/accounts")).json();
    assert.equal(all.accounts.length, 2);
    const alice = (await authed("GET", "/accounts?q=ALICE")).json();
    assert.deepEqual(
      alice.accounts.map((a: { email: string }) => a.email),
      ["alice@contoso.com"],
    );
    const percent = (await authed("GET", `/accounts?q=${encodeURIComponent("_100%")}`)).json();
    assert.deepEqual(
      percent.accounts.map((a: { email: string }) => a.email),
      ["bob_100%@fabrikam.com"],
    );
    const detail = (await authed("GET", `/accounts/${"a".repeat(22)}`)).json();
    assert.equal(detail.account.statusReason, "password_changed");
    assert.ok(detail.events.some((e: { kind: string }) => e.kind === "status"));
    const reconnect = await authed("POST", `/accounts/${"a".repeat(22)}/reconnect-link`, {});
    assert.equal(reconnect.statusCode, 200);
    assert.equal((await authed("DELETE", `/accounts/${"a".repeat(22)}`)).statusCode, 200);
    assert.equal((await authed("GET", `/accounts/${"a".repeat(22)}`)).statusCode, 404);
  });

  it("accounts: the list is paged on the server with a cursor, newest first; a bad cursor is a 400", async () => {
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      const id = `p${i}`.padEnd(22, "x");
      await t.services.repos.accounts.insert(
        accountRow({ id, name: `Paged ${i}`, email: `paged${i}@contoso.com` }, now + i),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/accounts?q=paged&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page: { accounts: { email: string }[]; nextCursor: string | null; truncated: boolean } = (
        await authed("GET", query)
      ).json();
      assert.ok(page.accounts.length <= 2);
      assert.equal(page.truncated, page.nextCursor !== null);
      seen.push(...page.accounts.map((a) => a.email));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.deepEqual(
      seen,
      [4, 3, 2, 1, 0].map((i) => `paged${i}@contoso.com`),
    );
    assert.equal(pages, 3);
    const bad = await authed("GET", "/accounts?cursor=not-a-cursor");
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal((await authed("GET", "/accounts?limit=1000")).statusCode, 400);
  });

  it("invites another admin with a link that expires", async () => {
    const res = await authed("POST", "/admins/invites", { email: "second@example.com" });
    const token = new URL(res.json().url).searchParams.get("token")!;
    assert.ok(res.json().expiresAt > Date.now());
    const info = (await t.app.inject({ url: `${API}/setup-link?token=${token}` })).json();
    assert.deepEqual(info, { kind: "invite", email: "second@example.com" });
    const joined = await post(
      "/setup",
      { token, email: "ignored@example.com", password: PASSWORD },
      { "x-mailroom-csrf": "1" },
    );
    assert.equal(joined.json().admin.email, "second@example.com");
    assert.equal((await authed("GET", "/admins")).json().admins.length, 2);
  });

  it("sign-out ends the session", async () => {
    const res = await authed("POST", "/sign-out", {});
    assert.match(String(res.headers["set-cookie"]), /Max-Age=0/);
    assert.equal((await authed("GET", "/api-keys")).statusCode, 401);
  });

  it("serves the app at its client routes without shadowing the API, docs or health", async () => {
    const pages = Object.values(DASHBOARD_PAGES).map((p) => p.replace(":id", "abc"));
    for (const url of ["/", "/setup", "/accounts", "/accounts/abc", "/settings", "/webhooks", ...pages]) {
      const res = await t.app.inject({ url });
      assert.match(String(res.headers["content-type"]), /text\/html/, url);
    }
    assert.equal((await t.app.inject({ url: "/health" })).statusCode, 200);
    assert.match(String((await t.app.inject({ url: "/api/v1/nope" })).headers["content-type"]), /json/);
    assert.equal((await t.app.inject({ url: "/api/v1/accounts" })).statusCode, 401);
    assert.equal(
      (await t.app.inject({ url: "/.well-known/microsoft-identity-association.json" })).statusCode,
      200,
    );
  });
});

describe("npx mailroom admin create", () => {
  it("prints a setup link on a fresh database, then invitations once an admin exists", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { runMailroom } = await import("./support/cli.ts");
    const dataDir = mkdtempSync(join(tmpdir(), "mailroom-admin-cli-"));
    try {
      const env = { DATA_DIR: dataDir, SANDBOX: "off", PUBLIC_URL: "https://mail.example.com" };
      const first = await runMailroom(["admin", "create"], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /first admin account/);
      const token = /https:\/\/mail\.example\.com\/setup\?token=([A-Za-z0-9_-]+)/.exec(first.stdout)![1]!;
      // Redeem it through the service, as the setup page does.
      const { buildServices } = await import("../src/app/services.ts");
      const { loadConfig } = await import("../src/config/config.ts");
      const { createLogger } = await import("../src/lib/logger.ts");
      const services = await buildServices(loadConfig(env), createLogger({ level: "silent" }));
      try {
        await services.admins.acceptLink(token, { email: "root@example.com", password: PASSWORD });
      } finally {
        await services.close();
      }
      const second = await runMailroom(["admin", "create", "--email", "next@example.com"], env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /invitation/);
      const dup = await runMailroom(["admin", "create", "--email", "root@example.com"], env);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /already an admin/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
