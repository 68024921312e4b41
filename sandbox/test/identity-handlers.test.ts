// The login host's handlers called directly, without HTTP: each validation step of the token and
// authorize endpoints answers Microsoft's AADSTS code, in Microsoft's order.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { redirectUriMatches } from "../src/identity/authority.ts";
import { startAuthorize } from "../src/identity/authorize.ts";
import type { IdentityEnv, IdentityRequest } from "../src/identity/context.ts";
import { createIdentityRuntime } from "../src/identity/runtime.ts";
import { inactivity, redeemGrant } from "../src/identity/token.ts";
import { CONTOSO_TENANT_ID, SEEDED_APP, seedWorld } from "../src/seed.ts";
import { SandboxState } from "../src/state.ts";

const NOW = Date.parse("2026-03-02T09:00:00Z");
let env: IdentityEnv;

before(async () => {
  const state = new SandboxState({ baseUrl: "https://login.test", now: () => NOW, seedCorpus: false });
  await seedWorld(state);
  env = { state, runtime: await createIdentityRuntime(state) };
  const app = state.apps.get(SEEDED_APP.clientId)!;
  app.secrets.push({ ...app.secrets[0]!, id: "expired", value: "expired-secret", expiresAt: NOW - 1 });
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
const client = { client_id: SEEDED_APP.clientId, client_secret: SEEDED_APP.clientSecret };

describe("token endpoint grant validation", () => {
  const cases: {
    name: string;
    tenant?: string;
    params: Record<string, string> | undefined;
    authorization?: string;
    code: number;
    error: string;
  }[] = [
    { name: "unknown tenant", tenant: "nosuch.example", params: {}, code: 90002, error: "invalid_request" },
    { name: "no body", params: undefined, code: 9002313, error: "invalid_request" },
    { name: "no client_id", params: { grant_type: "refresh_token" }, code: 900144, error: "invalid_request" },
    {
      name: "unknown client",
      params: { client_id: "00000000-0000-0000-0000-000000000000", grant_type: "refresh_token" },
      code: 700016,
      error: "unauthorized_client",
    },
    {
      name: "basic credentials naming another client than the form",
      params: { ...client, grant_type: "refresh_token" },
      authorization: basic("someone-else", "x"),
      code: 9002313,
      error: "invalid_client",
    },
    {
      name: "basic credentials without a colon",
      params: { grant_type: "refresh_token" },
      authorization: `Basic ${Buffer.from("no-colon").toString("base64")}`,
      code: 9002313,
      error: "invalid_client",
    },
    { name: "no grant_type", params: { ...client }, code: 900144, error: "invalid_request" },
    {
      name: "unsupported grant_type",
      params: { ...client, grant_type: "password" },
      code: 70003,
      error: "unsupported_grant_type",
    },
    {
      name: "no secret",
      params: { client_id: SEEDED_APP.clientId, grant_type: "refresh_token" },
      code: 7000218,
      error: "invalid_client",
    },
    {
      name: "a client assertion (certificates are not emulated)",
      params: { client_id: SEEDED_APP.clientId, grant_type: "refresh_token", client_assertion: "x.y.z" },
      code: 700027,
      error: "invalid_client",
    },
    {
      name: "wrong secret",
      params: { ...client, client_secret: "nope", grant_type: "refresh_token" },
      code: 7000215,
      error: "invalid_client",
    },
    {
      name: "expired secret",
      params: { ...client, client_secret: "expired-secret", grant_type: "refresh_token" },
      code: 7000222,
      error: "invalid_client",
    },
    {
      name: "invalid scope",
      params: { ...client, grant_type: "refresh_token", scope: "https://graph.microsoft.com/ openid" },
      code: 70011,
      error: "invalid_scope",
    },
    {
      name: "authorization_code without code",
      params: { ...client, grant_type: "authorization_code" },
      code: 900144,
      error: "invalid_request",
    },
    {
      name: "unknown authorization code",
      params: {
        ...client,
        grant_type: "authorization_code",
        code: "1.nope",
        redirect_uri: "http://localhost/callback",
      },
      code: 9002313,
      error: "invalid_grant",
    },
    {
      name: "refresh_token without refresh_token",
      params: { ...client, grant_type: "refresh_token" },
      code: 900144,
      error: "invalid_request",
    },
    {
      name: "unknown refresh token",
      params: { ...client, grant_type: "refresh_token", refresh_token: "0.Anope" },
      code: 9002313,
      error: "invalid_grant",
    },
  ];
  for (const c of cases) {
    test(`${c.name} → AADSTS${c.code} ${c.error}`, async () => {
      const outcome = await redeemGrant(env, {
        tenant: c.tenant ?? "common",
        params: c.params,
        authorization: c.authorization,
      });
      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.error.code, c.code, outcome.error.message);
      assert.equal(outcome.error.error, c.error);
    });
  }

  test("client_secret_basic alone authenticates the client (the grant is then checked)", async () => {
    const outcome = await redeemGrant(env, {
      tenant: "common",
      params: { grant_type: "refresh_token", refresh_token: "0.Anope" },
      authorization: basic(SEEDED_APP.clientId, SEEDED_APP.clientSecret),
    });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.equal(outcome.error.code, 9002313);
  });
});

describe("authorize request validation", () => {
  const request = (tenant: string): IdentityRequest => ({
    tenant,
    query: {},
    body: undefined,
    cookie: undefined,
    authorization: undefined,
    correlationId: undefined,
  });
  const base = {
    client_id: SEEDED_APP.clientId,
    redirect_uri: "http://localhost/callback",
    response_type: "code",
    scope: "openid profile offline_access https://graph.microsoft.com/Mail.Read",
    state: "s1",
  };
  const cases: {
    name: string;
    tenant?: string;
    params: Record<string, string>;
    /** Shown on Microsoft's error page, or sent back to the app. */
    where: "page" | "redirect";
    code: number;
  }[] = [
    { name: "unknown tenant", tenant: "nosuch.example", params: base, where: "page", code: 90002 },
    { name: "no client_id", params: { ...base, client_id: "" }, where: "page", code: 900144 },
    {
      name: "unknown app",
      params: { ...base, client_id: "00000000-0000-0000-0000-000000000000" },
      where: "page",
      code: 700016,
    },
    {
      name: "unregistered redirect URI",
      params: { ...base, redirect_uri: "https://evil.example/cb" },
      where: "page",
      code: 50011,
    },
    {
      name: "bad response_mode",
      params: { ...base, response_mode: "web_message" },
      where: "redirect",
      code: 900144,
    },
    { name: "no response_type", params: { ...base, response_type: "" }, where: "redirect", code: 900144 },
    {
      name: "response_type id_token",
      params: { ...base, response_type: "id_token" },
      where: "redirect",
      code: 700054,
    },
    { name: "no scope", params: { ...base, scope: "" }, where: "redirect", code: 900144 },
    {
      name: "bad code_challenge_method",
      params: { ...base, code_challenge: "abc", code_challenge_method: "S512" },
      where: "redirect",
      code: 501491,
    },
  ];
  for (const c of cases) {
    test(`${c.name} → AADSTS${c.code} on ${c.where === "page" ? "Microsoft's error page" : "the redirect"}`, () => {
      const params = Object.fromEntries(Object.entries(c.params).filter(([, value]) => value !== ""));
      const result = startAuthorize(env, request(c.tenant ?? "common"), params, false);
      if (c.where === "page") {
        assert.equal(result.kind, "html");
        if (result.kind === "html") assert.match(result.html, new RegExp(`id="errorCode">AADSTS${c.code}:`));
      } else {
        assert.equal(result.kind, "redirect");
        if (result.kind !== "redirect") return;
        const location = new URL(result.location);
        assert.equal(location.origin + location.pathname, "http://localhost/callback");
        assert.match(location.searchParams.get("error_description") ?? "", new RegExp(`^AADSTS${c.code}:`));
        assert.equal(location.searchParams.get("state"), "s1");
      }
    });
  }

  test("a valid request opens a transaction and shows the username page", () => {
    const result = startAuthorize(env, request(CONTOSO_TENANT_ID), base, false);
    assert.equal(result.kind, "html");
    if (result.kind === "html") assert.match(result.html, /id="i0116"/);
  });
});

describe("reply URLs and inactivity spans", () => {
  const registered = ["http://localhost/callback", "https://app.example.com/cb"];
  for (const [requested, expected] of [
    ["http://localhost/callback", true],
    ["http://localhost:5173/callback", true],
    ["http://127.0.0.1:5173/callback", false],
    ["https://app.example.com/cb", true],
    ["https://app.example.com:8443/cb", false],
    ["http://localhost/other", false],
    ["not a url", false],
  ] as const) {
    test(`${requested} ${expected ? "matches" : "does not match"}`, () => {
      assert.equal(redirectUriMatches(registered, requested), expected);
    });
  }

  test("inactivity is written d.hh:mm:ss", () => {
    assert.equal(inactivity(90 * 86_400_000 + 3_723_000), "90.01:02:03");
    assert.equal(inactivity(0), "0.00:00:00");
  });
});
