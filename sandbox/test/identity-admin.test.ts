// The /_sandbox admin API: users, apps, secrets, scenario switches, stats and the index page.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SEEDED, SEEDED_APP, SEEDED_USERS } from "../src/seed.ts";
import type { Sandbox } from "../src/server.ts";
import { CONSUMERS_TENANT_ID } from "../src/state.ts";
import { obtainTokens, startTestSandbox } from "./identity-helpers.ts";

let sb: Sandbox;
before(async () => {
  sb = await startTestSandbox();
});
after(async () => {
  await sb.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sb.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe("users", () => {
  test("the seeded users are listed with their passwords", async () => {
    const res = await fetch(`${sb.url}/_sandbox/users`);
    const users = (await res.json()) as Array<Record<string, unknown>>;
    assert.equal(users.length, SEEDED_USERS.length);
    const adele = users.find((u) => u.email === SEEDED.adele.email);
    assert.deepEqual(
      Object.keys(adele ?? {})
        .sort()
        .slice(0, 8),
      ["disabled", "display_name", "email", "has_mailbox", "id", "is_admin", "kind", "password"],
    );
    assert.equal(adele?.password, "Sandbox!2345");
    assert.equal(users.find((u) => u.kind === "no_mailbox")?.has_mailbox, false);
    assert.equal(users.find((u) => u.email === SEEDED.sam.email)?.tenant_id, CONSUMERS_TENANT_ID);
  });

  test("seeded ids are stable across restarts", async () => {
    const other = await startTestSandbox();
    try {
      assert.deepEqual([...other.state.users.keys()].sort(), [...sb.state.users.keys()].sort());
      assert.deepEqual([...other.state.tenants.keys()].sort(), [...sb.state.tenants.keys()].sort());
    } finally {
      await other.close();
    }
  });

  test("a created user can sign in; bad input is a 400 JSON error", async () => {
    const created = await call("POST", "/_sandbox/users", {
      email: "new.person@contoso.onmicrosoft.com",
      password: "Welcome!123",
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.kind, "work");
    assert.equal(created.body.display_name, "New Person");
    const tokens = await obtainTokens(sb, "new.person@contoso.onmicrosoft.com", "Welcome!123");
    assert.equal(typeof tokens.access_token, "string");

    assert.equal((await call("POST", "/_sandbox/users", { email: "not-an-email" })).status, 400);
    const dup = await call("POST", "/_sandbox/users", { email: SEEDED.adele.email });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error, "invalid_request");
    assert.equal((await call("POST", "/_sandbox/users", { email: "x@unknown.example" })).status, 400);
    assert.equal(
      (await call("POST", "/_sandbox/users", { email: "y@contoso.onmicrosoft.com", kind: "robot" })).status,
      400,
    );
    const personal = await call("POST", "/_sandbox/users", { email: "kim@outlook.com", kind: "personal" });
    assert.equal(personal.body.tenant_id, CONSUMERS_TENANT_ID);
  });
});

describe("apps", () => {
  test("an app is created with a one-time secret, can get more secrets, and be patched", async () => {
    const created = await call("POST", "/_sandbox/apps", {
      name: "Integrator",
      redirect_uris: ["https://app.example/callback"],
      sign_in_audience: "AzureADMultipleOrgs",
      permissions: ["Mail.Read", "https://graph.microsoft.com/User.Read"],
    });
    assert.equal(created.status, 201);
    assert.match(String(created.body.client_id), /^[0-9a-f-]{36}$/);
    assert.match(String(created.body.client_secret), /^.{3}8Q~.{34}$/);
    assert.deepEqual(created.body.permissions, ["Mail.Read", "User.Read"]);
    const id = String(created.body.client_id);

    const secret = await call("POST", `/_sandbox/apps/${id}/secrets`, {});
    assert.equal(secret.status, 201);
    assert.notEqual(secret.body.client_secret, created.body.client_secret);

    const patched = await call("PATCH", `/_sandbox/apps/${id}`, {
      redirect_uris: ["https://app.example/cb2"],
    });
    assert.deepEqual(patched.body.redirect_uris, ["https://app.example/cb2"]);
    const listed = (await (await fetch(`${sb.url}/_sandbox/apps`)).json()) as Array<Record<string, unknown>>;
    const entry = listed.find((a) => a.client_id === id);
    assert.equal((entry?.secrets as unknown[] | undefined)?.length, 2);
    assert.equal(
      JSON.stringify(listed).includes(String(created.body.client_secret)),
      false,
      "secrets shown once",
    );
  });

  test("redirect URI, audience and secret-lifetime rules are enforced", async () => {
    const base = { name: "Bad" };
    assert.equal(
      (await call("POST", "/_sandbox/apps", { ...base, redirect_uris: ["http://app.example/cb"] })).status,
      400,
    );
    assert.equal(
      (await call("POST", "/_sandbox/apps", { ...base, redirect_uris: ["https://app.example/cb?x=1"] }))
        .status,
      400,
      "no query strings for apps that allow personal accounts",
    );
    assert.equal(
      (await call("POST", "/_sandbox/apps", { ...base, sign_in_audience: "Everyone" })).status,
      400,
    );
    assert.equal((await call("POST", "/_sandbox/apps", { ...base, permissions: ["Mail.Fly"] })).status, 400);
    const tooLong = new Date(Date.now() + 3 * 365 * 24 * 3600 * 1000).toISOString();
    assert.equal((await call("POST", "/_sandbox/apps", { ...base, secret_expires_at: tooLong })).status, 400);
    assert.equal((await call("POST", "/_sandbox/apps", {})).status, 400);
  });
});

describe("scenarios", () => {
  test("fault switches are set per user or per app and cleared", async () => {
    const throttle = await call("POST", "/_sandbox/scenarios", {
      action: "throttle",
      user: SEEDED.adele.email,
      count: 2,
      retry_after: 1.5,
    });
    assert.equal(throttle.status, 200);
    assert.deepEqual(sb.state.userFaults.get(SEEDED.adele.id)?.throttleNext, {
      count: 2,
      retryAfterSeconds: 1.5,
    });
    await call("POST", "/_sandbox/scenarios", {
      action: "fail",
      client_id: SEEDED_APP.clientId,
      count: 1,
      status: 503,
    });
    assert.deepEqual(sb.state.appFaults.get(SEEDED_APP.clientId)?.failNext, { count: 1, status: 503 });
    await call("POST", "/_sandbox/scenarios", { action: "latency", user: SEEDED.adele.email, ms: 50 });
    assert.equal(sb.state.userFaults.get(SEEDED.adele.id)?.latencyMs, 50);
    assert.equal(
      (await call("POST", "/_sandbox/scenarios", { action: "fail", user: SEEDED.adele.email, status: 418 }))
        .status,
      400,
    );
    await call("POST", "/_sandbox/scenarios", { action: "clear_faults" });
    assert.equal(sb.state.userFaults.size + sb.state.appFaults.size, 0);
  });

  test("an unknown action is 400 and lists the known ones (a typo never looks like a scenario that ran)", async () => {
    const res = await call("POST", "/_sandbox/scenarios", {
      action: "subscription_lifecyle",
      event: "missed",
    });
    assert.equal(res.status, 400);
    assert.match(String(res.body.message), /Known actions: revoke_consent, .*subscription_lifecycle/);
  });

  test("unknown users and a missing action are 400", async () => {
    assert.equal(
      (await call("POST", "/_sandbox/scenarios", { action: "disable_user", user: "ghost@x.y" })).status,
      400,
    );
    assert.equal((await call("POST", "/_sandbox/scenarios", {})).status, 400);
  });
});

describe("stats and index", () => {
  test("stats have the documented shape and reset to zero", async () => {
    sb.state.counters.requests.set(`${SEEDED_APP.clientId}|${SEEDED.adele.id}`, 3);
    let stats = (await call("GET", "/_sandbox/stats")).body;
    assert.deepEqual(Object.keys(stats).sort(), [
      "in_flight",
      "peak_concurrency",
      "requests",
      "throttled",
      "token_errors",
      "token_grants",
      "token_refreshes",
    ]);
    assert.equal((stats.requests as Record<string, number>)[`${SEEDED_APP.clientId}|${SEEDED.adele.id}`], 3);
    await call("POST", "/_sandbox/stats/reset");
    stats = (await call("GET", "/_sandbox/stats")).body;
    assert.deepEqual(stats.requests, {});
    assert.equal(stats.token_grants, 0);
  });

  test("the index page lists users with passwords, escaped", async () => {
    await call("POST", "/_sandbox/users", {
      email: "x<b>@contoso.onmicrosoft.com",
      display_name: "<script>alert(1)</script>",
    });
    const html = await (await fetch(`${sb.url}/_sandbox/`)).text();
    assert.match(html, /adele\.vance@contoso\.onmicrosoft\.com/);
    assert.match(html, /Sandbox!2345/);
    assert.doesNotMatch(html, /<script>alert/);
  });

  test("the sandbox's own address (the one the start-up banner prints) leads to the index page", async () => {
    const res = await fetch(`${sb.url}/`, { redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/_sandbox/");
  });
});
