// Sign-in pages, the authorization-code flow and its redirects, discovery and JWKS.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { authenticateGraphRequest } from "../src/identity/authenticate.ts";
import { CONTOSO_TENANT_ID, FABRIKAM_TENANT_ID, SEEDED, SEEDED_APP } from "../src/seed.ts";
import type { Sandbox } from "../src/server.ts";
import { CONSUMERS_TENANT_ID } from "../src/state.ts";
import {
  authorizeUrl,
  Browser,
  pkcePair,
  REDIRECT_URI,
  signInAndConsent,
  startTestSandbox,
  tokenRequest,
} from "./identity-helpers.ts";

let sb: Sandbox;
before(async () => {
  sb = await startTestSandbox();
});
after(async () => {
  await sb.close();
});

async function redeem(code: string, verifier: string) {
  return tokenRequest(sb.url, {
    client_id: SEEDED_APP.clientId,
    client_secret: SEEDED_APP.clientSecret,
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    client_info: "1",
  });
}

function descriptionOf(url: URL | undefined): string {
  return url?.searchParams.get("error_description") ?? "";
}

describe("discovery and keys", () => {
  test("common and organizations advertise the {tenantid} issuer template; tenants and consumers a concrete one", async () => {
    const common = (await (
      await fetch(`${sb.url}/common/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    assert.equal(common.issuer, `${sb.url}/{tenantid}/v2.0`);
    assert.equal(common.authorization_endpoint, `${sb.url}/common/oauth2/v2.0/authorize`);
    assert.equal(common.token_endpoint, `${sb.url}/common/oauth2/v2.0/token`);
    assert.equal(common.jwks_uri, `${sb.url}/common/discovery/v2.0/keys`);
    assert.deepEqual(common.token_endpoint_auth_methods_supported, [
      "client_secret_post",
      "private_key_jwt",
      "client_secret_basic",
    ]);
    const orgs = (await (
      await fetch(`${sb.url}/organizations/v2.0/.well-known/openid-configuration`)
    ).json()) as {
      issuer: string;
    };
    assert.equal(orgs.issuer, `${sb.url}/{tenantid}/v2.0`);
    const byDomain = (await (
      await fetch(`${sb.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`)
    ).json()) as { issuer: string };
    assert.equal(byDomain.issuer, `${sb.url}/${CONTOSO_TENANT_ID}/v2.0`);
    const consumers = (await (
      await fetch(`${sb.url}/consumers/v2.0/.well-known/openid-configuration`)
    ).json()) as {
      issuer: string;
    };
    assert.equal(consumers.issuer, `${sb.url}/${CONSUMERS_TENANT_ID}/v2.0`);
  });

  test("an unknown tenant is AADSTS90002", async () => {
    const res = await fetch(`${sb.url}/nosuch.example/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error_codes: number[] };
    assert.deepEqual(body.error_codes, [90002]);
  });

  test("JWKS publishes one RS256 signing key with a kid", async () => {
    const jwks = (await (await fetch(`${sb.url}/common/discovery/v2.0/keys`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    assert.equal(jwks.keys.length, 1);
    const key = jwks.keys[0];
    assert.equal(key?.kty, "RSA");
    assert.equal(key?.use, "sig");
    assert.equal(typeof key?.kid, "string");
    assert.equal(key?.d, undefined, "no private parts");
  });
});

describe("authorization code flow", () => {
  test("a work account signs in, consents, and redeems the code with PKCE for verifiable tokens", async () => {
    const browser = new Browser(sb.url);
    const { verifier, challenge } = pkcePair();
    let page = await browser.request(
      authorizeUrl(sb.url, {
        code_challenge: challenge,
        code_challenge_method: "S256",
        nonce: "n-42",
        client_info: "1",
        "x-client-SKU": "ignored",
      }),
    );
    assert.match(page.html, /id="i0116"[^>]*|name="loginfmt"/);
    assert.match(page.html, /<input[^>]*name="loginfmt"[^>]*id="i0116"/);
    assert.match(page.html, /id="idSIButton9"[^>]*value="Next"/);
    page = await browser.submit(page, { loginfmt: SEEDED.adele.email });
    assert.match(page.html, /<input[^>]*name="passwd"[^>]*id="i0118"/);
    page = await browser.submit(page, { passwd: SEEDED.adele.password });
    assert.match(page.html, /Permissions requested/);
    assert.match(page.html, /Read and write access to your mail/);
    assert.match(page.html, /Send mail as you/);
    assert.match(page.html, /Maintain access to data you have given it access to/);
    assert.match(page.html, /View your basic profile/);
    assert.match(page.html, /unverified/);
    assert.match(page.html, new RegExp(SEEDED_APP.name.replace(/[()]/g, "\\$&")));
    assert.ok(browser.cookies.has("ESTSAUTH"), "sign-in session cookie set");
    page = await browser.submit(page);
    const redirect = page.redirect;
    assert.ok(redirect);
    assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
    assert.equal(redirect.searchParams.get("state"), "st-123");
    const clientInfo = JSON.parse(
      Buffer.from(redirect.searchParams.get("client_info") ?? "", "base64url").toString(),
    ) as Record<string, string>;
    assert.deepEqual(clientInfo, { uid: SEEDED.adele.id, utid: CONTOSO_TENANT_ID });

    const res = await redeem(redirect.searchParams.get("code") ?? "", verifier);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store, no-cache");
    const body = res.body;
    assert.equal(body.token_type, "Bearer");
    assert.ok(typeof body.expires_in === "number" && body.expires_in >= 3599 && body.expires_in <= 5399);
    assert.equal(body.ext_expires_in, body.expires_in);
    assert.equal(typeof body.refresh_token, "string");
    assert.match(String(body.scope), /https:\/\/graph\.microsoft\.com\/Mail\.ReadWrite/);

    const jwks = createRemoteJWKSet(new URL(`${sb.url}/common/discovery/v2.0/keys`));
    const { payload, protectedHeader } = await jwtVerify(String(body.id_token), jwks, {
      issuer: `${sb.url}/${CONTOSO_TENANT_ID}/v2.0`,
      audience: SEEDED_APP.clientId,
    });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(typeof protectedHeader.kid, "string");
    assert.equal(payload.tid, CONTOSO_TENANT_ID);
    assert.equal(payload.oid, SEEDED.adele.id);
    assert.equal(payload.preferred_username, SEEDED.adele.email);
    assert.equal(payload.email, SEEDED.adele.email);
    assert.equal(payload.name, "Adele Vance");
    assert.equal(payload.nonce, "n-42");
    assert.equal(payload.ver, "2.0");
    assert.ok(
      typeof payload.sub === "string" && payload.sub !== SEEDED.adele.id,
      "sub is pairwise, not the oid",
    );
    assert.ok(payload.iat && payload.nbf && payload.exp && payload.exp > payload.iat);
    assert.equal(
      Buffer.from(String(body.client_info), "base64url").toString(),
      JSON.stringify({ uid: SEEDED.adele.id, utid: CONTOSO_TENANT_ID }),
    );

    const auth = authenticateGraphRequest(sb.state, `Bearer ${body.access_token}`);
    assert.equal(auth.ok, true);
    if (auth.ok) {
      assert.equal(auth.user.id, SEEDED.adele.id);
      assert.equal(auth.app.clientId, SEEDED_APP.clientId);
      assert.deepEqual([...auth.scopes].sort(), ["Mail.ReadWrite", "Mail.Send", "User.Read"]);
    }
  });

  test("a personal account gets the consumer tenant, an MSA-shaped oid and an opaque access token", async () => {
    const browser = new Browser(sb.url);
    const { verifier, challenge } = pkcePair();
    const page = await signInAndConsent(
      browser,
      authorizeUrl(sb.url, { code_challenge: challenge, code_challenge_method: "S256" }),
      SEEDED.sam.email,
      SEEDED.sam.password,
    );
    const res = await redeem(page.redirect?.searchParams.get("code") ?? "", verifier);
    assert.equal(res.status, 200);
    const jwks = createRemoteJWKSet(new URL(`${sb.url}/consumers/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(String(res.body.id_token), jwks, {
      issuer: `${sb.url}/${CONSUMERS_TENANT_ID}/v2.0`,
    });
    assert.equal(payload.tid, CONSUMERS_TENANT_ID);
    assert.match(String(payload.oid), /^00000000-0000-0000-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(!String(res.body.access_token).includes("."), "MSA Graph tokens are not JWTs");
    assert.equal(authenticateGraphRequest(sb.state, `Bearer ${res.body.access_token}`).ok, true);
  });

  test("plain PKCE is accepted", async () => {
    const browser = new Browser(sb.url);
    const page = await signInAndConsent(
      browser,
      authorizeUrl(sb.url, {
        code_challenge: "plain-verifier-plain-verifier-plain-verifier-0",
        code_challenge_method: "plain",
      }),
      SEEDED.megan.email,
      SEEDED.megan.password,
    );
    const res = await redeem(
      page.redirect?.searchParams.get("code") ?? "",
      "plain-verifier-plain-verifier-plain-verifier-0",
    );
    assert.equal(res.status, 200);
  });

  test("a wrong password keeps the password page with Microsoft's message", async () => {
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { login_hint: SEEDED.alex.email }));
    assert.match(page.html, /id="i0118"/, "login_hint skips the email page");
    page = await browser.submit(page, { passwd: "wrong" });
    assert.match(
      page.html,
      /Your account or password is incorrect\. If you don't remember your password, <a[^>]*>reset it now\.<\/a>/,
    );
    assert.match(page.html, /id="i0118"/);
    page = await browser.submit(page, { passwd: SEEDED.alex.password });
    assert.match(page.html, /Permissions requested/);
  });

  test("login_hint pre-fills the account and offers another; the posted loginfmt decides who signs in", async () => {
    const browser = new Browser(sb.url);
    const { verifier, challenge } = pkcePair();
    const hinted = authorizeUrl(sb.url, {
      login_hint: SEEDED.alex.email,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    let page = await browser.request(hinted);
    assert.match(page.html, new RegExp(`id="displayName"[^>]*>${SEEDED.alex.email.replaceAll(".", "\\.")}<`));
    assert.match(page.html, /<input[^>]*name="loginfmt"[^>]*value="alex\.wilber@contoso\.onmicrosoft\.com"/);
    const other = /<a[^>]*id="otherAccount"[^>]*href="([^"]+)"[^>]*>Use another account<\/a>/.exec(page.html);
    assert.ok(other, "the hinted page links to 'Use another account'");

    // Another account's credentials posted from the hinted page sign in that account, not the hint.
    page = await browser.submit(page, { loginfmt: SEEDED.megan.email, passwd: SEEDED.megan.password });
    if (page.html.includes('id="permissionsList"')) {
      assert.match(page.html, new RegExp(SEEDED.megan.email.replaceAll(".", "\\.")));
      page = await browser.submit(page);
    }
    const res = await redeem(page.redirect?.searchParams.get("code") ?? "", verifier);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = JSON.parse(
      Buffer.from(String(res.body.id_token).split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { preferred_username: string; oid: string };
    assert.equal(claims.preferred_username, SEEDED.megan.email);
    assert.equal(claims.oid, SEEDED.megan.id);

    // "Use another account" leads to an empty username page.
    const fresh = new Browser(sb.url);
    page = await fresh.request(hinted);
    const href = /id="otherAccount"[^>]*href="([^"]+)"/.exec(page.html)?.[1]?.replaceAll("&amp;", "&") ?? "";
    page = await fresh.request(new URL(href, page.url).toString());
    assert.match(page.html, /<input[^>]*name="loginfmt"[^>]*id="i0116"[^>]*value=""/);
    page = await fresh.submit(page, { loginfmt: SEEDED.adele.email });
    assert.match(
      page.html,
      new RegExp(`id="displayName"[^>]*>${SEEDED.adele.email.replaceAll(".", "\\.")}<`),
    );
  });

  test("a password posted for an unknown username goes back to the username page", async () => {
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { login_hint: SEEDED.alex.email }));
    page = await browser.submit(page, { loginfmt: "nobody@contoso.onmicrosoft.com", passwd: "x" });
    assert.match(page.html, /id="i0116"/);
    assert.match(page.html, /This username may be incorrect/);
  });

  test("unknown usernames and accounts of the wrong kind are told so on the email page", async () => {
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, {}));
    page = await browser.submit(page, { loginfmt: "nobody@contoso.onmicrosoft.com" });
    assert.match(
      page.html,
      /This username may be incorrect\. Make sure you typed it correctly\. Otherwise, contact your admin\./,
    );
    assert.match(page.html, /id="i0116"/);

    const orgs = new Browser(sb.url);
    page = await orgs.request(authorizeUrl(sb.url, {}, "organizations"));
    page = await orgs.submit(page, { loginfmt: SEEDED.sam.email });
    assert.match(
      page.html,
      /You can(')|(&#39;)t sign in here with a personal account\. Use your work or school account instead\./,
    );
  });

  test("a disabled account cannot sign in", async () => {
    const user = sb.state.userByEmail(SEEDED.megan.email);
    assert.ok(user);
    user.disabled = true;
    try {
      const browser = new Browser(sb.url);
      let page = await browser.request(authorizeUrl(sb.url, { login_hint: SEEDED.megan.email }));
      page = await browser.submit(page, { passwd: SEEDED.megan.password });
      assert.match(page.html, /Your account has been locked/);
      assert.equal(page.redirect, undefined);
    } finally {
      user.disabled = false;
    }
  });

  test("declining consent redirects with AADSTS65004 (work) or the MSA denial string (personal)", async () => {
    const work = new Browser(sb.url);
    let page = await work.request(
      authorizeUrl(sb.url, { login_hint: "alex.wilber@contoso.onmicrosoft.com", prompt: "consent" }),
    );
    page = await work.submit(page, { passwd: SEEDED.alex.password });
    assert.match(page.html, /id="idBtn_Back"[^>]*value="Cancel"/);
    page = await work.submit(page, {}, "idBtn_Back");
    assert.equal(page.redirect?.searchParams.get("error"), "consent_required");
    assert.match(
      descriptionOf(page.redirect),
      /^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    assert.equal(page.redirect?.searchParams.get("state"), "st-123");
    assert.match(page.redirect?.searchParams.get("error_uri") ?? "", /\/error\?code=65004$/);

    const personal = new Browser(sb.url);
    page = await personal.request(authorizeUrl(sb.url, { login_hint: SEEDED.jo.email }));
    page = await personal.submit(page, { passwd: SEEDED.jo.password });
    assert.match(page.html, /Let this app access your info\?/);
    assert.match(page.html, /id="idBtn_Back"[^>]*value="No"/);
    page = await personal.submit(page, {}, "idBtn_Back");
    assert.equal(page.redirect?.searchParams.get("error"), "access_denied");
    assert.equal(
      descriptionOf(page.redirect),
      "The user has denied access to the scope requested by the client application.",
    );
  });

  test("Back on the email page is a user cancel: access_denied with error_subcode=cancel", async () => {
    const browser = new Browser(sb.url);
    const page = await browser.submit(await browser.request(authorizeUrl(sb.url, {})), {}, "idBtn_Back");
    assert.equal(page.redirect?.searchParams.get("error"), "access_denied");
    assert.equal(page.redirect?.searchParams.get("error_subcode"), "cancel");
    assert.equal(page.redirect?.searchParams.get("state"), "st-123");
  });

  test("consent is remembered per user and app, and asked again only for new scopes", async () => {
    const first = new Browser(sb.url);
    await signInAndConsent(
      first,
      authorizeUrl(sb.url, {}),
      SEEDED.contosoAdmin.email,
      SEEDED.contosoAdmin.password,
    );
    const second = new Browser(sb.url);
    let page = await second.request(authorizeUrl(sb.url, { login_hint: SEEDED.contosoAdmin.email }));
    page = await second.submit(page, { passwd: SEEDED.contosoAdmin.password });
    assert.ok(page.redirect?.searchParams.get("code"), "no consent page the second time");

    page = await second.request(
      authorizeUrl(sb.url, {
        scope: `${"openid profile offline_access"} https://graph.microsoft.com/Mail.Read`,
      }),
    );
    assert.match(page.html, /Permissions requested/);
    assert.match(page.html, /Read your mail/);
    assert.doesNotMatch(page.html, /Send mail as you/);
  });

  test("prompt=none without a session redirects login_required; with one it returns a code silently", async () => {
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { prompt: "none" }));
    assert.equal(page.redirect?.searchParams.get("error"), "login_required");
    assert.match(descriptionOf(page.redirect), /^AADSTS50058:/);

    await signInAndConsent(browser, authorizeUrl(sb.url, {}), SEEDED.adele.email, SEEDED.adele.password);
    page = await browser.request(authorizeUrl(sb.url, { prompt: "none" }));
    assert.ok(page.redirect?.searchParams.get("code"));

    page = await browser.request(
      authorizeUrl(sb.url, { prompt: "none", scope: "openid https://graph.microsoft.com/Mail.Read" }),
    );
    assert.equal(page.redirect?.searchParams.get("error"), "consent_required");
  });

  test("prompt=select_account shows the signed-in accounts; prompt=login asks for the password again", async () => {
    const browser = new Browser(sb.url);
    await signInAndConsent(browser, authorizeUrl(sb.url, {}), SEEDED.adele.email, SEEDED.adele.password);
    let page = await browser.request(authorizeUrl(sb.url, { prompt: "select_account" }));
    assert.match(page.html, /Pick an account/);
    assert.match(page.html, new RegExp(SEEDED.adele.email.replaceAll(".", "\\.")));
    assert.match(page.html, /Use another account/);
    const form = page.html.match(/name="account" value="([^"]+)"/);
    assert.equal(form?.[1], SEEDED.adele.id);
    page = await browser.request(`${sb.url}/common/login`, {
      form: { ...Object.fromEntries(Object.entries(parseHidden(page.html))), account: SEEDED.adele.id },
    });
    assert.ok(page.redirect?.searchParams.get("code"));

    page = await browser.request(authorizeUrl(sb.url, { prompt: "select_account" }));
    page = await browser.submit(page, {}, "idBtn_Back");
    assert.equal(page.redirect?.searchParams.get("error_subcode"), "cancel");

    page = await browser.request(authorizeUrl(sb.url, { prompt: "login", login_hint: SEEDED.adele.email }));
    assert.match(page.html, /id="i0118"/);
  });

  test("response_mode=form_post renders a form that posts code and state to the redirect URI", async () => {
    const browser = new Browser(sb.url);
    await signInAndConsent(browser, authorizeUrl(sb.url, {}), SEEDED.adele.email, SEEDED.adele.password);
    const page = await browser.request(authorizeUrl(sb.url, { response_mode: "form_post" }));
    assert.match(page.html, new RegExp(`<form method="POST" name="hiddenform" action="${REDIRECT_URI}">`));
    assert.match(page.html, /name="code" value="[^"]+"/);
    assert.match(page.html, /name="state" value="st-123"/);
    assert.match(page.html, /<noscript>/);
  });
});

function parseHidden(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    out[m[1] ?? ""] = m[2] ?? "";
  return out;
}

describe("errors shown by Microsoft instead of redirecting", () => {
  test("an unknown client_id gets the AADSTS700016 error page, never a redirect", async () => {
    const res = await fetch(authorizeUrl(sb.url, { client_id: "11111111-2222-3333-4444-555555555555" }), {
      redirect: "manual",
    });
    assert.equal(res.headers.get("location"), null);
    const html = await res.text();
    assert.match(html, /Sorry, but we’re having trouble signing you in\./);
    assert.match(
      html,
      /AADSTS700016: Application with identifier &#39;11111111-2222-3333-4444-555555555555&#39; was not found/,
    );
    assert.match(html, /Correlation Id/);
  });

  test("an unregistered redirect_uri gets the AADSTS50011 error page", async () => {
    const res = await fetch(authorizeUrl(sb.url, { redirect_uri: "https://evil.example/cb" }), {
      redirect: "manual",
    });
    assert.equal(res.headers.get("location"), null);
    const html = await res.text();
    assert.match(
      html,
      /AADSTS50011: The redirect URI &#39;https:\/\/evil\.example\/cb&#39; specified in the request does not match/,
    );
  });

  test("a localhost redirect URI matches on any port", async () => {
    const res = await fetch(authorizeUrl(sb.url, { redirect_uri: "http://localhost:53117/callback" }), {
      redirect: "manual",
    });
    assert.match(await res.text(), /id="i0116"/);
  });
});

describe("tenants, audiences and admin consent", () => {
  test("a single-tenant app on /common is AADSTS50194; used from another tenant it is AADSTS50020", async () => {
    const created = (await (
      await fetch(`${sb.url}/_sandbox/apps`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          name: "Contoso internal",
          redirect_uris: [REDIRECT_URI],
          sign_in_audience: "AzureADMyOrg",
        }),
      })
    ).json()) as { client_id: string };
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { client_id: created.client_id }));
    assert.equal(page.redirect?.searchParams.get("error"), "invalid_request");
    assert.match(descriptionOf(page.redirect), /^AADSTS50194: /);

    page = await browser.request(authorizeUrl(sb.url, { client_id: created.client_id }, CONTOSO_TENANT_ID));
    page = await browser.submit(page, { loginfmt: SEEDED.pat.email });
    page = await browser.submit(page, { passwd: SEEDED.pat.password });
    assert.equal(page.redirect?.searchParams.get("error"), "access_denied");
    assert.match(
      descriptionOf(page.redirect),
      /^AADSTS50020: User account 'pat\.kim@fabrikam\.onmicrosoft\.com'/,
    );

    page = await browser.request(authorizeUrl(sb.url, { client_id: created.client_id }, "consumers"));
    assert.match(descriptionOf(page.redirect), /^AADSTS9002332: /);
  });

  test("a tenant that blocks user consent shows Need admin approval until an admin consents for the tenant", async () => {
    const browser = new Browser(sb.url);
    let page = await browser.request(authorizeUrl(sb.url, { login_hint: SEEDED.pat.email }));
    page = await browser.submit(page, { passwd: SEEDED.pat.password });
    assert.match(page.html, /Need admin approval/);
    assert.match(
      page.html,
      /needs permission to access resources in your organization that only an admin can grant/,
    );
    const link = /id="returnToApp" href="([^"]+)"/.exec(page.html)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(link);
    page = await browser.request(link);
    assert.equal(page.redirect?.searchParams.get("error"), "access_denied");
    assert.match(descriptionOf(page.redirect), /^AADSTS90094: /);
    assert.equal(page.redirect?.searchParams.get("state"), "st-123");

    // The tenant's admin grants consent for everyone through the admin-consent endpoint.
    const admin = new Browser(sb.url);
    const consentUrl = `${sb.url}/${FABRIKAM_TENANT_ID}/v2.0/adminconsent?${new URLSearchParams({
      client_id: SEEDED_APP.clientId,
      redirect_uri: REDIRECT_URI,
      state: "adm-1",
    })}`;
    page = await admin.request(consentUrl);
    page = await admin.submit(page, { loginfmt: SEEDED.fabrikamAdmin.email });
    page = await admin.submit(page, { passwd: SEEDED.fabrikamAdmin.password });
    assert.match(page.html, /for all users in your organization/);
    page = await admin.submit(page);
    assert.equal(page.redirect?.searchParams.get("admin_consent"), "True");
    assert.equal(page.redirect?.searchParams.get("tenant"), FABRIKAM_TENANT_ID);
    assert.equal(page.redirect?.searchParams.get("state"), "adm-1");

    const again = new Browser(sb.url);
    page = await again.request(authorizeUrl(sb.url, { login_hint: SEEDED.pat.email }));
    page = await again.submit(page, { passwd: SEEDED.pat.password });
    assert.ok(page.redirect?.searchParams.get("code"), "no consent prompt after admin consent");
  });

  test("the admin-consent endpoint refuses /common", async () => {
    const browser = new Browser(sb.url);
    const page = await browser.request(
      `${sb.url}/common/v2.0/adminconsent?${new URLSearchParams({ client_id: SEEDED_APP.clientId, redirect_uri: REDIRECT_URI, state: "x" })}`,
    );
    assert.equal(page.redirect?.searchParams.get("error"), "invalid_request");
  });
});
