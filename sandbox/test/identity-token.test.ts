// Token endpoint: grants, rotation, revocation and every AADSTS error's status and body shape.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { authenticateGraphRequest } from "../src/identity/authenticate.ts";
import { SEEDED, SEEDED_APP } from "../src/seed.ts";
import type { Sandbox } from "../src/server.ts";
import {
  authorizeUrl,
  Browser,
  obtainTokens,
  pkcePair,
  REDIRECT_URI,
  signInAndConsent,
  startTestSandbox,
  TestClock,
  tokenRequest,
} from "./identity-helpers.ts";

const clock = new TestClock();
let sb: Sandbox;
before(async () => {
  sb = await startTestSandbox(clock);
});
after(async () => {
  await sb.close();
});

const DAY = 24 * 3600 * 1000;

async function scenario(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${sb.url}/_sandbox/scenarios`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

function assertAadsts(
  res: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
  code: number,
): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error, error);
  assert.deepEqual(res.body.error_codes, [code]);
  const description = String(res.body.error_description);
  assert.match(
    description,
    new RegExp(
      `^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
      "s",
    ),
  );
  assert.match(String(res.body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(String(res.body.trace_id), /^[0-9a-f-]{36}$/);
  assert.match(String(res.body.correlation_id), /^[0-9a-f-]{36}$/);
  assert.equal(res.body.error_uri, `${sb.url}/error?code=${code}`);
  assert.ok(description.endsWith(`Timestamp: ${res.body.timestamp}`));
  assert.ok(description.includes(`Trace ID: ${res.body.trace_id}`));
}

/** Signs in and returns a fresh, unredeemed code and its verifier. */
async function freshCode(email = SEEDED.adele.email, password = SEEDED.adele.password) {
  const browser = new Browser(sb.url);
  const { verifier, challenge } = pkcePair();
  const page = await signInAndConsent(
    browser,
    authorizeUrl(sb.url, { code_challenge: challenge, code_challenge_method: "S256" }),
    email,
    password,
  );
  return { code: page.redirect?.searchParams.get("code") ?? "", verifier };
}

const client = { client_id: SEEDED_APP.clientId, client_secret: SEEDED_APP.clientSecret };

function redeem(code: string, verifier: string, extra: Record<string, string> = {}) {
  return tokenRequest(sb.url, {
    ...client,
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    ...extra,
  });
}

function refresh(refreshToken: string, extra: Record<string, string> = {}) {
  return tokenRequest(sb.url, {
    ...client,
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    ...extra,
  });
}

describe("authorization codes", () => {
  test("a code is single use: the second redemption is AADSTS54005", async () => {
    const { code, verifier } = await freshCode();
    assert.equal((await redeem(code, verifier)).status, 200);
    assertAadsts(await redeem(code, verifier), 400, "invalid_grant", 54005);
  });

  test("a code expires after 10 minutes (AADSTS70008)", async () => {
    const { code, verifier } = await freshCode();
    clock.advance(10 * 60 * 1000 + 1);
    assertAadsts(await redeem(code, verifier), 400, "invalid_grant", 70008);
  });

  test("a wrong or missing PKCE verifier is AADSTS501481", async () => {
    const { code, verifier } = await freshCode();
    assertAadsts(await redeem(code, `${verifier}x`), 400, "invalid_grant", 501481);
    assertAadsts(
      await tokenRequest(sb.url, {
        ...client,
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT_URI,
      }),
      400,
      "invalid_grant",
      501481,
    );
    assert.equal((await redeem(code, verifier)).status, 200, "a failed verifier does not burn the code");
  });

  test("a garbage code is AADSTS9002313; a redirect_uri that differs from /authorize is AADSTS500112", async () => {
    assertAadsts(await redeem("not-a-code", "v"), 400, "invalid_grant", 9002313);
    const { code, verifier } = await freshCode();
    assertAadsts(
      await redeem(code, verifier, { redirect_uri: "http://localhost/other" }),
      400,
      "invalid_grant",
      500112,
    );
  });

  test("a code from /common redeemed on another tenant is AADSTS700005", async () => {
    const { code, verifier } = await freshCode();
    const res = await tokenRequest(
      sb.url,
      {
        ...client,
        grant_type: "authorization_code",
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      },
      { tenant: "fabrikam.onmicrosoft.com" },
    );
    assertAadsts(res, 400, "invalid_grant", 700005);
  });

  test("missing parameters are AADSTS900144 and GET on the token endpoint is AADSTS900561", async () => {
    assertAadsts(
      await tokenRequest(sb.url, { grant_type: "authorization_code" }),
      400,
      "invalid_request",
      900144,
    );
    const res = await fetch(`${sb.url}/common/oauth2/v2.0/token`);
    const body = (await res.json()) as Record<string, unknown>;
    assertAadsts({ status: res.status, body }, 400, "invalid_request", 900561);
  });

  test("an unsupported grant type and an invalid scope are rejected", async () => {
    assertAadsts(
      await tokenRequest(sb.url, { ...client, grant_type: "password" }),
      400,
      "unsupported_grant_type",
      70003,
    );
    assertAadsts(
      await tokenRequest(sb.url, {
        ...client,
        grant_type: "refresh_token",
        refresh_token: "x",
        scope: "Mail.Fly",
      }),
      400,
      "invalid_scope",
      70011,
    );
  });

  test("the correlation id echoes client-request-id", async () => {
    const id = "0b5e6f3a-1111-4222-8333-944445555666";
    const res = await fetch(`${sb.url}/common/oauth2/v2.0/token?client-request-id=${id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=authorization_code",
    });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.correlation_id, id);
  });
});

describe("client authentication", () => {
  test("a wrong secret is AADSTS7000215 with 401 invalid_client", async () => {
    const res = await tokenRequest(sb.url, {
      client_id: SEEDED_APP.clientId,
      client_secret: "wrong",
      grant_type: "refresh_token",
      refresh_token: "x",
    });
    assertAadsts(res, 401, "invalid_client", 7000215);
    // Sending the secret's id instead of its value is the classic mistake behind 7000215.
    const byId = await tokenRequest(sb.url, {
      client_id: SEEDED_APP.clientId,
      client_secret: SEEDED_APP.secretId,
      grant_type: "refresh_token",
      refresh_token: "x",
    });
    assertAadsts(byId, 401, "invalid_client", 7000215);
  });

  test("no credential at all is AADSTS7000218", async () => {
    assertAadsts(
      await tokenRequest(sb.url, {
        client_id: SEEDED_APP.clientId,
        grant_type: "refresh_token",
        refresh_token: "x",
      }),
      401,
      "invalid_client",
      7000218,
    );
  });

  test("an unknown client is AADSTS700016", async () => {
    assertAadsts(
      await tokenRequest(sb.url, {
        client_id: "11111111-2222-4333-8444-555555555555",
        client_secret: "s",
        grant_type: "refresh_token",
        refresh_token: "x",
      }),
      400,
      "unauthorized_client",
      700016,
    );
  });

  test("HTTP Basic client authentication is accepted", async () => {
    const tokens = await obtainTokens(sb, SEEDED.adele.email, SEEDED.adele.password);
    const res = await tokenRequest(
      sb.url,
      { grant_type: "refresh_token", refresh_token: String(tokens.refresh_token) },
      { basic: `${SEEDED_APP.clientId}:${encodeURIComponent(SEEDED_APP.clientSecret)}` },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  test("an expired secret is AADSTS7000222 with 401; a newly added secret works", async () => {
    const created = (await (
      await fetch(`${sb.url}/_sandbox/apps`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Expiring", redirect_uris: [REDIRECT_URI] }),
      })
    ).json()) as { client_id: string; client_secret: string };
    assert.equal((await scenario({ action: "expire_secret", client_id: created.client_id })).status, 200);
    const form = {
      client_id: created.client_id,
      client_secret: created.client_secret,
      grant_type: "refresh_token",
      refresh_token: "x",
    };
    assertAadsts(await tokenRequest(sb.url, form), 401, "invalid_client", 7000222);
    const added = (await (
      await fetch(`${sb.url}/_sandbox/apps/${created.client_id}/secrets`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })
    ).json()) as { client_secret: string };
    // With a valid secret the request gets past client authentication (and fails on the bogus grant).
    assertAadsts(
      await tokenRequest(sb.url, { ...form, client_secret: added.client_secret }),
      400,
      "invalid_grant",
      9002313,
    );
  });
});

describe("refresh tokens", () => {
  test("every refresh returns a new refresh token; the previous one is not revoked (refresh-tokens.md)", async () => {
    const before = sb.state.counters.tokenRefreshes;
    const tokens = await obtainTokens(sb, SEEDED.adele.email, SEEDED.adele.password);
    const first = await refresh(String(tokens.refresh_token));
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refresh_token, tokens.refresh_token);
    assert.notEqual(first.body.access_token, tokens.access_token);
    assert.equal(typeof first.body.id_token, "string");
    const second = await refresh(String(first.body.refresh_token), {
      scope: "https://graph.microsoft.com/Mail.ReadWrite offline_access",
    });
    assert.equal(second.status, 200);
    assert.notEqual(second.body.refresh_token, first.body.refresh_token);
    assert.equal((await refresh(String(tokens.refresh_token))).status, 200, "old refresh token still valid");
    assert.equal(sb.state.counters.tokenRefreshes, before + 3);
  });

  test("a refresh token idle for 90 days is AADSTS700082", async () => {
    const tokens = await obtainTokens(sb, SEEDED.megan.email, SEEDED.megan.password);
    clock.advance(89 * DAY);
    const renewed = await refresh(String(tokens.refresh_token));
    assert.equal(renewed.status, 200);
    clock.advance(2 * DAY);
    assertAadsts(await refresh(String(tokens.refresh_token)), 400, "invalid_grant", 700082);
    assert.equal(
      (await refresh(String(renewed.body.refresh_token))).status,
      200,
      "the renewed token is fresh",
    );
  });

  test("expire_refresh_tokens makes the next refresh fail with AADSTS700082", async () => {
    const tokens = await obtainTokens(sb, SEEDED.alex.email, SEEDED.alex.password);
    await scenario({ action: "expire_refresh_tokens", user: SEEDED.alex.email });
    const res = await refresh(String(tokens.refresh_token));
    assertAadsts(res, 400, "invalid_grant", 700082);
    assert.match(String(res.body.error_description), /was inactive for \d+\.\d\d:\d\d:\d\d/);
  });

  test("a password reset revokes earlier refresh tokens: AADSTS50173", async () => {
    const tokens = await obtainTokens(sb, SEEDED.jo.email, SEEDED.jo.password);
    clock.advance(1000);
    const res = await scenario({
      action: "change_password",
      user: SEEDED.jo.email,
      password: "Changed!9876",
    });
    assert.equal(res.status, 200);
    assertAadsts(await refresh(String(tokens.refresh_token)), 400, "invalid_grant", 50173);
    const fresh = await obtainTokens(sb, SEEDED.jo.email, "Changed!9876");
    assert.equal((await refresh(String(fresh.refresh_token))).status, 200);
  });

  test("revoked consent makes refresh fail with AADSTS65001 and suberror consent_required", async () => {
    const tokens = await obtainTokens(sb, SEEDED.sam.email, SEEDED.sam.password);
    await scenario({ action: "revoke_consent", user: SEEDED.sam.email, client_id: SEEDED_APP.clientId });
    const res = await refresh(String(tokens.refresh_token));
    assertAadsts(res, 400, "invalid_grant", 65001);
    assert.equal(res.body.suberror, "consent_required");
    // Signing in again shows the consent page again.
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { login_hint: SEEDED.sam.email }));
    page = await browser.submit(page, { passwd: SEEDED.sam.password });
    assert.match(page.html, /Let this app access your info\?/);
  });

  test("asking a refresh for a scope never consented is AADSTS65001", async () => {
    const tokens = await obtainTokens(sb, SEEDED.contosoAdmin.email, SEEDED.contosoAdmin.password);
    const res = await refresh(String(tokens.refresh_token), {
      scope: "https://graph.microsoft.com/Calendars.Read",
    });
    assertAadsts(res, 400, "invalid_grant", 65001);
  });

  test("revoke_tokens invalidates refresh tokens (AADSTS50173) and access tokens at Graph", async () => {
    const tokens = await obtainTokens(sb, SEEDED.adele.email, SEEDED.adele.password);
    assert.equal(authenticateGraphRequest(sb.state, `Bearer ${tokens.access_token}`).ok, true);
    await scenario({ action: "revoke_tokens", user: SEEDED.adele.email });
    assertAadsts(await refresh(String(tokens.refresh_token)), 400, "invalid_grant", 50173);
    const auth = authenticateGraphRequest(sb.state, `Bearer ${tokens.access_token}`);
    assert.equal(auth.ok, false);
  });

  test("a disabled user cannot refresh (AADSTS50057)", async () => {
    const tokens = await obtainTokens(sb, SEEDED.megan.email, SEEDED.megan.password);
    await scenario({ action: "disable_user", user: SEEDED.megan.email });
    try {
      assertAadsts(await refresh(String(tokens.refresh_token)), 400, "invalid_grant", 50057);
    } finally {
      await scenario({ action: "disable_user", user: SEEDED.megan.email, disabled: false });
    }
  });
});

describe("Graph bearer check", () => {
  test("missing, malformed, compact, expired and unknown tokens are 401 InvalidAuthenticationToken", async () => {
    const empty = authenticateGraphRequest(sb.state, undefined);
    assert.deepEqual(empty, {
      ok: false,
      status: 401,
      code: "InvalidAuthenticationToken",
      message: "Access token is empty.",
    });
    const malformed = authenticateGraphRequest(sb.state, "Bearer abc");
    assert.equal(malformed.ok, false);
    if (!malformed.ok) assert.match(malformed.message, /^IDX14100: JWT is not well formed/);
    const compact = authenticateGraphRequest(sb.state, "Bearer EwBxyz");
    if (!compact.ok) assert.match(compact.message, /^CompactToken parsing failed/);
    const unknown = authenticateGraphRequest(sb.state, "Bearer a.b.c");
    if (!unknown.ok) assert.equal(unknown.message, "Access token validation failure.");

    const tokens = await obtainTokens(sb, SEEDED.alex.email, SEEDED.alex.password);
    clock.advance(Number(tokens.expires_in) * 1000);
    const expired = authenticateGraphRequest(sb.state, `Bearer ${tokens.access_token}`);
    assert.equal(expired.ok, false);
    if (!expired.ok) assert.equal(expired.message, "Access token has expired or is not yet valid.");
  });
});

describe("counters", () => {
  test("grants, refreshes and AADSTS errors are counted in /_sandbox/stats", async () => {
    await fetch(`${sb.url}/_sandbox/stats/reset`, { method: "POST" });
    const tokens = await obtainTokens(sb, SEEDED.alex.email, SEEDED.alex.password);
    await refresh(String(tokens.refresh_token));
    await tokenRequest(sb.url, {
      ...client,
      client_secret: "nope",
      grant_type: "refresh_token",
      refresh_token: "x",
    });
    const stats = (await (await fetch(`${sb.url}/_sandbox/stats`)).json()) as Record<string, unknown>;
    assert.equal(stats.token_grants, 1);
    assert.equal(stats.token_refreshes, 1);
    assert.deepEqual(stats.token_errors, { AADSTS7000215: 1 });
  });
});
