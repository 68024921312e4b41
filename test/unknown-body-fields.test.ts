// Unknown body fields are a 400 naming them on every route that takes a body (API and dashboard),
// never dropped; what the official SDK sends on each call is still accepted.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Type } from "typebox";
import { UnipileClient } from "unipile-node-sdk";
import { openObjects, requireClosedBodies } from "../src/http/closed-bodies.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

describe("closed body schemas (pure)", () => {
  const cases: [string, unknown, string[]][] = [
    ["a closed object", Type.Object({ a: Type.String() }, { additionalProperties: false }), []],
    ["an open object", Type.Object({ a: Type.String() }), ["body"]],
    ["an explicitly open object", Type.Object({}, { additionalProperties: true }), ["body"]],
    [
      "an open object inside an array of a closed one",
      Type.Object({ h: Type.Array(Type.Object({ k: Type.String() })) }, { additionalProperties: false }),
      ["body.h[]"],
    ],
    [
      "union members",
      Type.Union([
        Type.Object({ a: Type.String() }, { additionalProperties: false }),
        Type.Object({ b: Type.String() }),
      ]),
      ["body"],
    ],
    ["a free value", Type.Unknown(), []],
    ["a string", Type.String(), []],
  ];
  for (const [name, schema, open] of cases)
    it(`finds the open objects of ${name}`, () => assert.deepEqual(openObjects(schema), open));

  it("a route with an open body schema cannot be registered", () => {
    assert.throws(
      () =>
        requireClosedBodies({
          method: "POST",
          url: "/x",
          schema: { body: Type.Object({ a: Type.String() }) },
          handler: async () => ({}),
        }),
      /POST \/x: body schema must set additionalProperties: false at body/,
    );
  });
});

describe("unknown body fields answer 400 naming them", () => {
  let h: ConnectHarness;
  let accountId: string;
  let emailId: string;
  let webhookId: string;
  const key = () => ({ "x-api-key": h.t.apiKey });

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: true, corpusSize: 5 });
    accountId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    const list = await h.app.inject({
      url: `/api/v1/emails?account_id=${accountId}&limit=1`,
      headers: key(),
    });
    emailId = list.json().items[0].id;
    const created = await h.app.inject({
      method: "POST",
      url: "/api/v1/webhooks",
      headers: key(),
      payload: { request_url: "https://example.com/hook", source: "email" },
    });
    assert.equal(created.statusCode, 201, created.body);
    webhookId = created.json().webhook_id;
  });
  after(async () => {
    await h?.dispose();
  });

  const expect400 = (res: { statusCode: number; body: string }, pattern: RegExp) => {
    assert.equal(res.statusCode, 400, res.body);
    const body = JSON.parse(res.body) as { type: string; detail: string; status: number };
    assert.equal(body.type, "errors/invalid_parameters");
    assert.equal(body.status, 400);
    assert.match(body.detail, pattern);
  };

  const jsonCases: { name: string; method: "POST" | "PUT"; url: () => string; payload: () => object }[] = [
    {
      name: "POST /api/v1/webhooks",
      method: "POST",
      url: () => "/api/v1/webhooks",
      payload: () => ({ request_url: "https://example.com/h", source: "email", secret: "x", colour: 1 }),
    },
    {
      name: "POST /api/v1/hosted/accounts/link",
      method: "POST",
      url: () => "/api/v1/hosted/accounts/link",
      payload: () => ({
        type: "create",
        providers: ["OUTLOOK"],
        expiresOn: "2099-01-01T00:00:00.000Z",
        api_url: h.baseUrl,
        secret: "x",
        colour: 1,
      }),
    },
    {
      name: "POST /api/v1/accounts",
      method: "POST",
      url: () => "/api/v1/accounts",
      payload: () => ({ provider: "OUTLOOK", access_token: "a", refresh_token: "r", secret: "x", colour: 1 }),
    },
    {
      name: "POST /api/v1/accounts/checkpoint",
      method: "POST",
      url: () => "/api/v1/accounts/checkpoint",
      payload: () => ({ account_id: "a", code: "1", provider: "OUTLOOK", secret: "x", colour: 1 }),
    },
    {
      name: "POST /api/v1/webhooks/{id}/replay",
      method: "POST",
      url: () => `/api/v1/webhooks/${webhookId}/replay`,
      payload: () => ({ since: "2020-01-01T00:00:00.000Z", secret: "x", colour: 1 }),
    },
    {
      name: "POST /api/v1/webhooks/{id}/rotate_secret",
      method: "POST",
      url: () => `/api/v1/webhooks/${webhookId}/rotate_secret`,
      payload: () => ({ grace_period_seconds: 10, secret: "x", colour: 1 }),
    },
    {
      name: "PUT /api/v1/emails/{id}",
      method: "PUT",
      url: () => `/api/v1/emails/${emailId}`,
      payload: () => ({ unread: true, secret: "x", colour: 1 }),
    },
    {
      name: "POST /api/v1/emails (JSON)",
      method: "POST",
      url: () => "/api/v1/emails",
      payload: () => ({
        account_id: accountId,
        to: [{ identifier: ADELE }],
        body: "hi",
        secret: "x",
        colour: 1,
      }),
    },
    {
      name: "POST /api/v1/drafts (JSON)",
      method: "POST",
      url: () => "/api/v1/drafts",
      payload: () => ({
        account_id: accountId,
        to: [{ identifier: ADELE }],
        body: "hi",
        secret: "x",
        colour: 1,
      }),
    },
  ];
  for (const c of jsonCases)
    it(`${c.name}: every unknown field is named, with the fields the endpoint takes`, async () => {
      const res = await h.app.inject({
        method: c.method,
        url: c.url(),
        headers: key(),
        payload: c.payload(),
      });
      expect400(res, /^body: unknown fields "secret", "colour"; this endpoint takes /);
    });

  it("a nested unknown field is named with its path", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/webhooks",
      headers: key(),
      payload: {
        request_url: "https://example.com/h",
        source: "email",
        headers: [{ key: "a", value: "b", colour: 1 }],
      },
    });
    expect400(res, /^body\.headers\.0: unknown field "colour"; this endpoint takes key, value/);
  });

  it("PUT /api/v1/emails/{id} as the SDK sends it (text/plain [object Object]) is still an empty update", async () => {
    const res = await h.app.inject({
      method: "PUT",
      url: `/api/v1/emails/${emailId}`,
      headers: { ...key(), "content-type": "text/plain;charset=UTF-8" },
      payload: "[object Object]",
    });
    assert.equal(res.statusCode, 200, res.body);
  });

  const multipart = async (fields: [string, string | Blob, string?][]) => {
    const form = new FormData();
    for (const [name, value, filename] of fields)
      if (typeof value === "string") form.append(name, value);
      else form.append(name, value, filename);
    return fetch(`${h.baseUrl}/api/v1/emails`, { method: "POST", headers: key(), body: form });
  };

  it("multipart: an unknown text field is a 400 naming it", async () => {
    const res = await multipart([
      ["account_id", accountId],
      ["to", JSON.stringify([{ identifier: ADELE }])],
      ["body", "hi"],
      ["tracking_option", "{}"],
    ]);
    expect400({ statusCode: res.status, body: await res.text() }, /^body: unknown field "tracking_option"; /);
  });

  it("multipart: a file part under another name than attachments is a 400 naming it", async () => {
    const res = await multipart([
      ["account_id", accountId],
      ["to", JSON.stringify([{ identifier: ADELE }])],
      ["body", "hi"],
      ["file", new Blob([Buffer.from("x")]), "a.txt"],
    ]);
    expect400({ statusCode: res.status, body: await res.text() }, /^body: unknown field "file"; /);
  });

  it("multipart: attachments[0]-style names and every documented field are accepted", async () => {
    const res = await multipart([
      ["account_id", accountId],
      ["to", JSON.stringify([{ identifier: ADELE }])],
      ["cc", JSON.stringify([])],
      ["bcc", JSON.stringify([])],
      ["subject", "parts"],
      ["from", JSON.stringify({ display_name: "Adele" })],
      ["custom_headers", JSON.stringify([{ name: "X-Campaign", value: "7" }])],
      ["tracking_options", JSON.stringify({ opens: false })],
      ["body", "hi"],
      ["attachments[0]", new Blob([Buffer.from("one")]), "one.txt"],
      ["attachments[1]", new Blob([Buffer.from("two")]), "two.txt"],
    ]);
    assert.equal(res.status, 201, await res.text());
  });

  it("the SDK's calls with every field of their input types pass strict validation", async () => {
    const client = new UnipileClient(h.baseUrl, h.t.apiKey, {
      validateRequestPayload: true,
      validateRequestPayloadLevel: "error",
    });
    // sync_limit and disabled_features are in the SDK's body schema (HostedAuthCreateLinkBodySchema),
    // not in its method's input type.
    const link = await client.account.createHostedAuthLink({
      type: "create",
      providers: ["OUTLOOK"],
      api_url: h.baseUrl,
      expiresOn: "2099-01-01T00:00:00.000Z",
      name: "user-1",
      sync_limit: { MAILING: "NO_HISTORY_SYNC" },
      disabled_features: [],
      notify_url: "https://example.com/notify",
      success_redirect_url: "https://example.com/ok",
      failure_redirect_url: "https://example.com/ko",
    } as Parameters<typeof client.account.createHostedAuthLink>[0]);
    assert.equal((link as { object: string }).object, "HostedAuthUrl");
    const hook = await client.webhook.create({
      request_url: "https://example.com/sdk",
      name: "sdk",
      source: "email",
      format: "json",
      account_ids: [accountId],
      enabled: true,
      headers: [{ key: "X-A", value: "b" }],
      events: ["mail_received"],
      data: [{ name: "id", key: "email_id" }],
    });
    assert.equal((hook as { object: string }).object, "WebhookCreated");
    const sent = await client.email.send({
      account_id: accountId,
      to: [{ identifier: ADELE, display_name: "Adele" }],
      cc: [],
      bcc: [],
      subject: "sdk",
      body: "<p>hello</p>",
      from: { display_name: "Adele", identifier: ADELE },
      custom_headers: [{ name: "X-Campaign", value: "1" }],
      tracking_options: { opens: false, links: false },
      attachments: [["a.txt", Buffer.from("a")]],
    });
    assert.equal((sent as { object: string }).object, "EmailSent");
    const updated = await client.email.update({ email_id: emailId, unread: false });
    assert.equal((updated as { object: string }).object, "EmailUpdated");
  });
});

describe("dashboard bodies refuse unknown fields", () => {
  let h: ConnectHarness;
  before(async () => {
    h = await startConnectHarness("sqlite");
  });
  after(async () => {
    await h?.dispose();
  });

  it("sign-in with an unknown field is a 400 naming it", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/dashboard/api/sign-in",
      headers: { "x-mailroom-csrf": "1" },
      payload: { email: "a@example.com", password: "x", remember: true },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().detail, /^body: unknown field "remember"; this endpoint takes email, password/);
  });
});
