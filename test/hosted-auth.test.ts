// Connecting mailboxes end to end: the operator's backend creates a link, the user walks Mailroom's
// wizard and the (sandbox) Microsoft sign-in over HTTP, and the account appears.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { hashToken } from "../src/lib/crypto.ts";
import { verifySignature } from "../src/outbound/signing.ts";
import { createTestApp, EXAMPLE_ADDRESS, reboundLookup } from "./support/app.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { ShiftedClock } from "./support/clock.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const ADELE = { email: "adele.vance@contoso.onmicrosoft.com", password: SEED_PASSWORD };
const MEGAN = { email: "megan.bowen@contoso.onmicrosoft.com", password: SEED_PASSWORD };
const SAM = { email: "sam.taylor@outlook.com", password: SEED_PASSWORD };
const LYNNE = { email: "lynne.robbins@contoso.onmicrosoft.com", password: SEED_PASSWORD };
const PAT = { email: "pat.kim@fabrikam.onmicrosoft.com", password: SEED_PASSWORD };
const SUCCESS = "https://app.example.com/connected";
const FAILURE = "https://app.example.com/failed?from=mailroom";

describe("hosted auth: connecting Microsoft mailboxes", () => {
  let h: ConnectHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browserFor: () => MultiOriginBrowser;
  const clock = new ShiftedClock();
  before(async () => {
    // The operator's notify_url receiver runs on 127.0.0.1.
    h = await startConnectHarness("sqlite", { clock, env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" } });
    receiver = await startReceiver();
    browserFor = () => new MultiOriginBrowser([h.baseUrl, h.sandbox.url]);
  });
  after(async () => {
    await receiver.close();
    await h.dispose();
  });

  async function link(extra: Record<string, unknown> = {}): Promise<string> {
    const res = await h.createLink({
      type: "create",
      providers: "*",
      success_redirect_url: SUCCESS,
      bypass_success_screen: true,
      failure_redirect_url: FAILURE,
      ...extra,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.object, "HostedAuthUrl");
    return res.json.url as string;
  }

  it("a work account connects: notify_url gets a signed CREATION_SUCCESS, the browser lands on success_redirect_url, the SDK lists the account", async () => {
    const url = await link({ name: "user-42", notify_url: receiver.url });
    assert.match(url, new RegExp(`^${h.baseUrl}/hosted/connect/[A-Za-z0-9_-]{43}$`));
    const end = await connectThroughWizard(browserFor(), url, ADELE);
    assert.equal(end.left?.toString(), SUCCESS);

    const call = await until("the notify_url callback", () => receiver.received[0]);
    assert.equal(call.url, "/mailroom/notify?token=abc", "the notify_url query string is kept");
    const body = JSON.parse(call.body) as { status: string; account_id: string; name: string };
    assert.equal(body.status, "CREATION_SUCCESS");
    assert.equal(body.name, "user-42");
    const secret = await h.services.callbackSigning.get();
    assert.ok(
      verifySignature(
        secret,
        call.body,
        String(call.headers["x-mailroom-signature"]),
        Math.floor(Date.now() / 1000),
      ),
    );
    assert.equal(
      verifySignature(
        "whsec_wrong",
        call.body,
        String(call.headers["x-mailroom-signature"]),
        Math.floor(Date.now() / 1000),
      ),
      false,
    );

    const client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const list = (await client.account.getAll()) as {
      items: { id: string; name: string; sources: { status: string }[] }[];
    };
    const account = list.items.find((a) => a.id === body.account_id);
    assert.ok(account);
    assert.equal(account.name, ADELE.email);
    assert.equal(account.sources[0]?.status, "OK");
  });

  it("a personal Microsoft account connects too, with its address from /me", async () => {
    const end = await connectThroughWizard(browserFor(), await link(), SAM);
    assert.equal(end.left?.toString(), SUCCESS);
    const rows = await h.services.repos.accounts.page(50);
    const sam = rows.find((r) => r.email === SAM.email);
    assert.ok(sam);
    assert.equal(sam.tenant_id, "9188040d-6c67-4c5b-b112-36a304b66dad");
  });

  it("without success_redirect_url the user sees a success page naming the mailbox and the product", async () => {
    const res = await h.createLink({ type: "create", providers: ["OUTLOOK"] });
    const end = await connectThroughWizard(browserFor(), res.json.url as string, MEGAN);
    assert.equal(end.status, 200);
    assert.match(end.html, /Mailbox connected/);
    assert.match(end.html, /megan\.bowen@contoso\.onmicrosoft\.com/);
    assert.match(end.html, /Acme CRM/);
  });

  it("with success_redirect_url but no bypass_success_screen the success page shows first, then continues there", async () => {
    const end = await connectThroughWizard(
      browserFor(),
      await link({ bypass_success_screen: undefined }),
      MEGAN,
    );
    assert.equal(end.left, undefined, "no redirect before the success page");
    assert.equal(end.status, 200);
    assert.match(end.html, /Mailbox connected/);
    assert.match(
      end.html,
      /<meta http-equiv="refresh" content="3;url=https:\/\/app\.example\.com\/connected">/,
    );
    assert.match(end.html, /<a class="button" id="continue" href="https:\/\/app\.example\.com\/connected">/);
  });

  it("bypass_success_screen: false shows the success page like an absent one", async () => {
    const end = await connectThroughWizard(browserFor(), await link({ bypass_success_screen: false }), MEGAN);
    assert.equal(end.left, undefined);
    assert.match(end.html, /id="continue"/);
  });

  it("one mailbox is never two accounts: connecting Adele again updates her account", async () => {
    const before = (await h.services.repos.accounts.page(100)).filter((r) => r.email === ADELE.email);
    assert.equal(before.length, 1);
    const end = await connectThroughWizard(browserFor(), await link(), ADELE);
    assert.equal(end.left?.toString(), SUCCESS);
    const afterRows = (await h.services.repos.accounts.page(100)).filter((r) => r.email === ADELE.email);
    assert.equal(afterRows.length, 1);
    assert.equal(afterRows[0]?.id, before[0]?.id);
  });

  it("a reconnect link brings the same account back (same id) and notifies RECONNECTED", async () => {
    const adele = (await h.services.repos.accounts.page(100)).find((r) => r.email === ADELE.email)!;
    await h.services.repos.accounts.update(adele.id, {
      status: "CREDENTIALS",
      status_reason: "password_changed",
    });
    const start = receiver.received.length;
    const res = await h.createLink({
      type: "reconnect",
      reconnect_account: adele.id,
      notify_url: receiver.url,
      success_redirect_url: SUCCESS,
      bypass_success_screen: true,
    });
    assert.equal(res.status, 200);
    const wizard = await browserFor().request(res.json.url as string);
    assert.match(wizard.html, /Reconnect your mailbox/);
    assert.match(wizard.html, /adele\.vance@contoso\.onmicrosoft\.com/);
    const end = await connectThroughWizard(browserFor(), res.json.url as string, ADELE);
    assert.equal(end.left?.toString(), SUCCESS);
    const call = await until("RECONNECTED callback", () => receiver.received[start]);
    assert.deepEqual(JSON.parse(call.body), { status: "RECONNECTED", account_id: adele.id, name: "" });
    const row = await h.services.repos.accounts.findById(adele.id);
    assert.equal(row?.status, "OK");
    assert.equal(row?.status_reason, null);
  });

  it("reconnecting with a different mailbox fails with wrong_account and changes nothing", async () => {
    const adele = (await h.services.repos.accounts.page(100)).find((r) => r.email === ADELE.email)!;
    const res = await h.createLink({
      type: "reconnect",
      reconnect_account: adele.id,
      failure_redirect_url: FAILURE,
    });
    // The wizard pre-fills Adele (login_hint); the user picks another account and signs in as Megan.
    const browser = browserFor();
    const wizard = await browser.request(res.json.url as string);
    const form = /<form method="post" action="([^"]+)"/.exec(wizard.html)![1]!;
    const hop = await fetch(new URL(form, h.baseUrl), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: "" },
      body: "provider=OUTLOOK",
      redirect: "manual",
    });
    const cookie = hop.headers.getSetCookie()[0]!.split(";")[0]!;
    const authorize = new URL(hop.headers.get("location")!);
    assert.equal(authorize.searchParams.get("login_hint"), ADELE.email);
    const other = new MultiOriginBrowser([h.baseUrl, h.sandbox.url]);
    (other as unknown as { jars: Map<string, Map<string, string>> }).jars.set(
      h.baseUrl,
      new Map([cookie.split("=") as [string, string]]),
    );
    let end = await other.request(authorize.toString());
    // Microsoft's hinted page shows Adele; "Use another account" leads to an empty username page.
    const another = /id="otherAccount" href="([^"]+)"/.exec(end.html)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(another, "the hinted sign-in page offers another account");
    end = await other.request(new URL(another, end.url).toString());
    for (let i = 0; i < 6 && !end.left; i++) {
      if (end.html.includes('id="i0116"')) end = await other.submit(end, { loginfmt: MEGAN.email });
      else if (end.html.includes('id="i0118"')) end = await other.submit(end, { passwd: MEGAN.password });
      else end = await other.submit(end);
    }
    assert.equal(end.left?.origin, "https://app.example.com");
    assert.equal(end.left?.searchParams.get("reason"), "wrong_account");
    assert.equal(end.left?.searchParams.get("from"), "mailroom", "the failure URL's own query is kept");
    assert.equal(end.left?.searchParams.get("account_id"), adele.id);
  });

  it("a used link cannot connect a second account", async () => {
    const url = await link();
    await connectThroughWizard(browserFor(), url, MEGAN);
    const again = await browserFor().request(url);
    assert.equal(again.left?.searchParams.get("reason"), "used_link");
  });

  it("an expired link ends at failure_redirect_url with reason expired_link", async () => {
    const res = await h.createLink({
      type: "create",
      providers: "*",
      failure_redirect_url: FAILURE,
      expiresOn: new Date(clock.now() + 60_000).toISOString(),
    });
    clock.advance(60_000);
    try {
      const page = await browserFor().request(res.json.url as string);
      assert.equal(page.left?.searchParams.get("reason"), "expired_link");
    } finally {
      clock.reset();
    }
  });

  it("an unknown link shows a clear page", async () => {
    const page = await browserFor().request(`${h.baseUrl}/hosted/connect/not-a-real-token`);
    assert.equal(page.status, 410);
    assert.match(page.html, /This link has expired/);
  });

  it("declining consent ends at failure_redirect_url with reason consent_declined", async () => {
    const end = await connectThroughWizard(
      browserFor(),
      await link(),
      { email: "alex.wilber@contoso.onmicrosoft.com", password: SEED_PASSWORD },
      { consent: "cancel" },
    );
    assert.equal(end.left?.searchParams.get("reason"), "consent_declined");
  });

  it("cancelling at Microsoft's sign-in ends with reason user_cancelled", async () => {
    const end = await connectThroughWizard(browserFor(), await link(), ADELE, { cancelAtEmail: true });
    assert.equal(end.left?.searchParams.get("reason"), "user_cancelled");
  });

  it("a tenant that requires admin approval ends with admin_consent_required; the page offers the admin-consent link", async () => {
    const browser = browserFor();
    let end = await connectThroughWizard(browser, await link(), PAT);
    // Microsoft shows "Need admin approval"; the user returns to the app without consent.
    if (!end.left && /Need admin approval/.test(end.html)) {
      const back = /<a[^>]*href="([^"]+)"[^>]*>[^<]*Return to the application/i
        .exec(end.html)?.[1]
        ?.replaceAll("&amp;", "&");
      assert.ok(back, "the approval page links back to the application");
      end = await browser.request(new URL(back, end.url).toString());
    }
    assert.equal(end.left?.searchParams.get("reason"), "admin_consent_required");

    const res = await h.createLink({ type: "create", providers: "*" });
    const second = browserFor();
    let page = await connectThroughWizard(second, res.json.url as string, PAT);
    if (!page.left && /Need admin approval/.test(page.html)) {
      const back = /<a[^>]*href="([^"]+)"[^>]*>[^<]*Return to the application/i
        .exec(page.html)?.[1]
        ?.replaceAll("&amp;", "&");
      page = await second.request(new URL(back!, page.url).toString());
    }
    assert.match(page.html, /Administrator approval needed/);
    assert.match(page.html, /id="admin-consent" href="[^"]*\/organizations\/v2\.0\/adminconsent\?client_id=/);
  });

  it("a user without a mailbox is refused with reason no_mailbox and no account is created", async () => {
    const end = await connectThroughWizard(browserFor(), await link(), LYNNE);
    assert.equal(end.left?.searchParams.get("reason"), "no_mailbox");
    assert.equal(
      (await h.services.repos.accounts.page(100)).some((r) => r.email === LYNNE.email),
      false,
    );
  });

  it("tokens and the client secret never reach the logs or the database file in plaintext", async () => {
    const grants = [...h.sandbox.state.refreshTokens.keys()];
    const access = [...h.sandbox.state.accessTokens.keys()];
    assert.ok(grants.length > 0);
    const raw = readFileSync(h.t.database.sqlitePath!);
    for (const token of [...grants, ...access]) {
      assert.equal(h.t.logs.text.includes(token), false);
      assert.equal(raw.includes(Buffer.from(token)), false);
    }
    assert.equal(raw.includes(Buffer.from("Mrs8Q~sandbox")), false);
    assert.equal(h.t.logs.text.includes("Mrs8Q~sandbox"), false);
  });
});

describe("hosted auth link API", () => {
  let h: ConnectHarness;
  before(async () => {
    h = await startConnectHarness();
  });
  after(async () => {
    await h.dispose();
  });

  for (const [name, body, field] of [
    ["missing type", { providers: "*" }, "type"],
    ["missing expiresOn", { type: "create", providers: "*", expiresOn: undefined }, "expiresOn"],
    ["missing api_url", { type: "create", providers: "*", api_url: undefined }, "api_url"],
    ["a provider Mailroom cannot serve", { type: "create", providers: ["LINKEDIN"] }, "providers"],
    [
      "expiresOn in the past",
      { type: "create", providers: "*", expiresOn: "2020-01-01T00:00:00.000Z" },
      "expiresOn",
    ],
    [
      "expiresOn that is not an ISO 8601 date-time",
      { type: "create", providers: "*", expiresOn: "January 1, 2099" },
      "expiresOn",
    ],
    [
      "a notify_url that is not a URL",
      { type: "create", providers: "*", notify_url: "javascript:alert(1)" },
      "notify_url",
    ],
    [
      "a notify_url with a host name label of 300 characters",
      { type: "create", providers: "*", notify_url: `https://${"a".repeat(300)}.example/notify` },
      "notify_url: host name",
    ],
    [
      "a notify_url with a user name and password",
      { type: "create", providers: "*", notify_url: "https://user:secret@app.example.com/notify" },
      "notify_url: must not carry a user name or password",
    ],
    [
      "a success_redirect_url that is not http(s)",
      { type: "create", providers: "*", success_redirect_url: "ftp://app.example.com/" },
      "success_redirect_url",
    ],
    ["reconnect without reconnect_account", { type: "reconnect" }, "reconnect_account"],
  ] as const) {
    it(`${name} → 400 errors/invalid_parameters naming ${field}`, async () => {
      const res = await h.createLink(body as Record<string, unknown>);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.type, "errors/invalid_parameters");
      assert.match(String(res.json.detail), new RegExp(field));
    });
  }

  it("a link may expire years ahead, as Unipile's own examples do (no maximum unless configured)", async () => {
    for (const expiresOn of ["2099-01-01T00:00:00.000Z", "2055-12-31T23:59:59.999Z", "2099-01-01"]) {
      const res = await h.createLink({ type: "create", providers: "*", expiresOn });
      assert.equal(res.status, 200, `${expiresOn}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.object, "HostedAuthUrl");
    }
  });

  it("HOSTED_LINK_MAX_DAYS caps how far ahead expiresOn may be, naming the setting", async () => {
    const t = await createTestApp("sqlite", { HOSTED_LINK_MAX_DAYS: "7" });
    try {
      const create = (days: number) =>
        t.app.inject({
          method: "POST",
          url: "/api/v1/hosted/accounts/link",
          headers: { "x-api-key": t.apiKey },
          payload: {
            type: "create",
            providers: "*",
            api_url: "http://localhost:3000",
            expiresOn: new Date(Date.now() + days * 86_400_000).toISOString(),
          },
        });
      assert.equal((await create(6.9)).statusCode, 200);
      const tooFar = await create(8);
      assert.equal(tooFar.statusCode, 400);
      assert.equal(tooFar.json().type, "errors/invalid_parameters");
      assert.match(tooFar.json().detail, /expiresOn: at most 7 days ahead \(HOSTED_LINK_MAX_DAYS\)/);
    } finally {
      await t.dispose();
    }
  });

  it("reconnecting an unknown account → 404", async () => {
    const res = await h.createLink({ type: "reconnect", reconnect_account: "AAAAAAAAAAAAAAAAAAAAAA" });
    assert.equal(res.status, 404);
    assert.equal(res.json.type, "errors/resource_not_found");
  });

  it("the SDK's createHostedAuthLink passes strict validation", async () => {
    const client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    const res = (await client.account.createHostedAuthLink({
      type: "create",
      api_url: h.baseUrl,
      expiresOn: new Date(Date.now() + 3600_000).toISOString(),
      providers: ["OUTLOOK"],
    })) as { object: string; url: string };
    assert.equal(res.object, "HostedAuthUrl");
  });

  it("both redirect URIs are served: the port-less form reaches the same callback", async () => {
    const [first, second] = h.services.hostedAuth.redirectUris();
    assert.equal(first, `${h.baseUrl}/api/v1/hosted/microsoft_auth_request_callback`);
    assert.match(
      second!,
      /^http:\/\/127\.0\.0\.1\/api\/v1\/hosted\/microsoft_auth_request_callback\/port\d+$/,
    );
    const port = new URL(h.baseUrl).port;
    for (const path of [
      "/api/v1/hosted/microsoft_auth_request_callback",
      `/api/v1/hosted/microsoft_auth_request_callback/port${port}`,
    ]) {
      const res = await h.app.inject({ method: "GET", url: `${path}?state=unknown&code=x` });
      assert.equal(
        res.statusCode,
        410,
        "a callback without a known state is refused with a page, not 404 or 401",
      );
      assert.match(res.body, /could not be completed/);
    }
  });

  it("the publisher verification file names the configured application, as exact JSON, without auth or redirect", async () => {
    const res = await h.app.inject({
      method: "GET",
      url: "/.well-known/microsoft-identity-association.json",
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^application\/json/);
    const settings = await h.services.microsoftSettings.get();
    assert.equal(
      res.body,
      JSON.stringify({ associatedApplications: [{ applicationId: settings!.clientId }] }),
    );
  });
});

describe("notify_url under the destination policy (WEBHOOK_ALLOW_PRIVATE_ADDRESSES off)", () => {
  let h: ConnectHarness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  // Names whose DNS answer the test changes after the link was created.
  const rebound = new Map<string, string>();
  const lookup = reboundLookup(rebound);
  before(async () => {
    h = await startConnectHarness("sqlite", { webhooks: { lookup } });
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await h.dispose();
  });

  it("a loopback notify_url → 400 at link creation naming notify_url and WEBHOOK_ALLOW_PRIVATE_ADDRESSES", async () => {
    assert.equal(h.services.config.webhooks.allowPrivateAddresses, false);
    const res = await h.createLink({ type: "create", providers: "*", notify_url: receiver.url });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.type, "errors/invalid_parameters");
    assert.match(String(res.json.detail), /^notify_url: /);
    assert.match(String(res.json.detail), /WEBHOOK_ALLOW_PRIVATE_ADDRESSES/);
    assert.equal(receiver.received.length, 0);
  });

  it("a notify_url whose name resolves to loopback by the time of the callback is not called; its delivery log shows the refusal", async () => {
    const host = "notify-rebound.example";
    rebound.set(host, EXAMPLE_ADDRESS);
    const notifyUrl = `http://${host}:${new URL(receiver.url).port}/mailroom/notify`;
    const res = await h.createLink({ type: "create", providers: "*", notify_url: notifyUrl });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    rebound.set(host, "127.0.0.1");
    const url = res.json.url as string;
    const link = await h.services.repos.hostedAuth.findLinkByTokenHash(hashToken(url.split("/").pop()!));
    assert.ok(link);
    await connectThroughWizard(new MultiOriginBrowser([h.baseUrl, h.sandbox.url]), url, ADELE);

    const delivery = await until("the notify delivery to be refused", async () => {
      const row = await h.services.repos.notifyDeliveries.find(link.id);
      return row?.status === "failed" ? row : undefined;
    });
    assert.equal(delivery.attempts, 1, "a refused address is not retried");
    assert.match(
      String(delivery.last_error),
      /resolves to 127\.0\.0\.1, a private, loopback, link-local or metadata address/,
    );
    assert.match(String(delivery.last_error), /WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on/);
    assert.equal(receiver.received.length, 0, "the receiver on 127.0.0.1 got nothing");

    // The operator sees the refusal on the account's dashboard page.
    const setup = await h.services.admins.createLink();
    const token = new URL(setup.url).searchParams.get("token");
    const signedIn = await fetch(`${h.baseUrl}/dashboard/api/setup`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mailroom-csrf": "1", origin: h.baseUrl },
      body: JSON.stringify({ token, email: "ops@example.com", password: "a long enough password" }),
    });
    assert.equal(signedIn.status, 200, await signedIn.clone().text());
    const cookie = String(signedIn.headers.get("set-cookie")).split(";")[0]!;
    const accountId = (await h.services.repos.hostedAuth.findLink(link.id))?.account_id;
    assert.ok(accountId, "the link names the account it connected");
    const page = await fetch(`${h.baseUrl}/dashboard/api/accounts/${accountId}`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const { callbacks } = (await page.json()) as {
      callbacks: { linkId: string; url: string; status: string; attempts: number; lastError: string }[];
    };
    assert.equal(callbacks.length, 1);
    assert.equal(callbacks[0]?.linkId, link.id);
    assert.equal(callbacks[0]?.url, notifyUrl);
    assert.equal(callbacks[0]?.status, "failed");
    assert.equal(callbacks[0]?.attempts, 1);
    assert.match(String(callbacks[0]?.lastError), /WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on/);
  });
});
