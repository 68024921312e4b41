// Fidelity check: the real @azure/msal-node (v7) completes the authorization-code flow with PKCE
// and a refresh against the sandbox. The browser part is driven by fetch form posts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ConfidentialClientApplication,
  CryptoProvider,
  InteractionRequiredAuthError,
} from "@azure/msal-node";
import { CONTOSO_TENANT_ID, SEEDED, SEEDED_APP } from "../src/seed.ts";
import type { Sandbox } from "../src/server.ts";
import { Browser, REDIRECT_URI, signInAndConsent, startTestSandbox } from "./identity-helpers.ts";

let sb: Sandbox;
before(async () => {
  sb = await startTestSandbox();
});
after(async () => {
  await sb.close();
});

const SCOPES = [
  "https://graph.microsoft.com/Mail.ReadWrite",
  "https://graph.microsoft.com/Mail.Send",
  "https://graph.microsoft.com/User.Read",
];

/**
 * Reference §7.3, plain-http variant: keep the built-in Microsoft authority (no instance
 * discovery) and hand msal the sandbox's own discovery document as `authorityMetadata`.
 */
async function msalClient(): Promise<ConfidentialClientApplication> {
  const metadata = await (await fetch(`${sb.url}/common/v2.0/.well-known/openid-configuration`)).text();
  return new ConfidentialClientApplication({
    auth: {
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      authority: "https://login.microsoftonline.com/common",
      authorityMetadata: metadata,
    },
  });
}

test("msal-node completes the code flow with PKCE and refreshes against the sandbox", async () => {
  const cca = await msalClient();
  const crypto = new CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const authUrl = await cca.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
    state: "msal-state",
    prompt: "select_account",
  });
  assert.ok(authUrl.startsWith(`${sb.url}/common/oauth2/v2.0/authorize?`), authUrl);

  const browser = new Browser(sb.url);
  const page = await signInAndConsent(browser, authUrl, SEEDED.adele.email, SEEDED.adele.password);
  const code = page.redirect?.searchParams.get("code");
  assert.ok(code, String(page.redirect));
  assert.equal(page.redirect?.searchParams.get("state"), "msal-state");
  assert.ok(page.redirect?.searchParams.get("client_info"), "msal asks for client_info=1");

  const result = await cca.acquireTokenByCode({
    code,
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeVerifier: verifier,
  });
  assert.ok(result.accessToken);
  assert.equal(result.account?.homeAccountId, `${SEEDED.adele.id}.${CONTOSO_TENANT_ID}`);
  assert.equal(result.account?.username, SEEDED.adele.email);
  assert.equal(result.account?.tenantId, CONTOSO_TENANT_ID);
  assert.equal(
    result.idTokenClaims && (result.idTokenClaims as Record<string, unknown>).oid,
    SEEDED.adele.id,
  );
  assert.ok(result.expiresOn && result.expiresOn.getTime() > Date.now() + 55 * 60 * 1000);
  assert.equal(sb.state.accessTokens.has(result.accessToken), true);

  // acquireTokenSilent with forceRefresh redeems the cached refresh token at the sandbox.
  const refreshesBefore = sb.state.counters.tokenRefreshes;
  const refreshed = await cca.acquireTokenSilent({
    account: result.account ?? assert.fail("no account"),
    scopes: SCOPES,
    forceRefresh: true,
  });
  assert.notEqual(refreshed.accessToken, result.accessToken);
  assert.equal(sb.state.counters.tokenRefreshes, refreshesBefore + 1);
  assert.equal(sb.state.accessTokens.get(refreshed.accessToken)?.userId, SEEDED.adele.id);
});

test("msal-node surfaces revoked consent as an interaction-required error (AADSTS65001)", async () => {
  const cca = await msalClient();
  const crypto = new CryptoProvider();
  const { verifier, challenge } = await crypto.generatePkceCodes();
  const authUrl = await cca.getAuthCodeUrl({
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeChallenge: challenge,
    codeChallengeMethod: "S256",
  });
  const page = await signInAndConsent(new Browser(sb.url), authUrl, SEEDED.sam.email, SEEDED.sam.password);
  const result = await cca.acquireTokenByCode({
    code: page.redirect?.searchParams.get("code") ?? "",
    scopes: SCOPES,
    redirectUri: REDIRECT_URI,
    codeVerifier: verifier,
  });
  assert.equal(result.account?.tenantId, "9188040d-6c67-4c5b-b112-36a304b66dad");
  await fetch(`${sb.url}/_sandbox/scenarios`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      action: "revoke_consent",
      user: SEEDED.sam.email,
      client_id: SEEDED_APP.clientId,
    }),
  });
  await assert.rejects(
    cca.acquireTokenSilent({
      account: result.account ?? assert.fail("no account"),
      scopes: SCOPES,
      forceRefresh: true,
    }),
    (err: unknown) => {
      assert.ok(err instanceof InteractionRequiredAuthError, String(err));
      assert.match(String((err as InteractionRequiredAuthError).errorMessage), /AADSTS65001/);
      return true;
    },
  );
});
