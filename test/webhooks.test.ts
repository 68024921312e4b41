// Outgoing webhooks: Unipile's webhook API under the SDK's strict validation, and deliveries to a real
// local receiver — signed, retried, replayable, refused for private addresses unless allowed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { isPrivateAddress } from "../src/outbound/address-policy.ts";
import { verifySignature } from "../src/outbound/signing.ts";
import { createTestApp, EXAMPLE_ADDRESS, reboundLookup, type TestApp } from "./support/app.ts";
import { startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const FAST_RETRIES = { retryDelaysMs: [50, 100, 150], maxAttempts: 4, timeoutMs: 2_000 };

const MAIL = {
  email_id: "--R9___qXQKIu80oAF0lJA",
  date: "2023-06-14T23:54:12.000Z",
  from_attendee: { display_name: "Ann", identifier: "ann@example.com", identifier_type: "EMAIL_ADDRESS" },
  to_attendees: [{ display_name: "Bob", identifier: "bob@example.com", identifier_type: "EMAIL_ADDRESS" }],
  bcc_attendees: [],
  cc_attendees: [],
  reply_to_attendees: [],
  provider_id: "AAMkAD…",
  message_id: "<1@example.com>",
  has_attachments: false,
  subject: "Hello",
  body: "Hello World",
  body_plain: "",
  attachments: [],
  folders: ["Inbox"],
  role: "inbox",
  read_date: null,
  is_complete: true,
  origin: "external",
  thread_id: "thread-1",
};

function sdk(t: TestApp, baseUrl: string): UnipileClient {
  return new UnipileClient(baseUrl, t.apiKey, {
    validateRequestPayload: true,
    validateRequestPayloadLevel: "error",
  });
}

async function api(t: TestApp, method: string, url: string, body?: unknown) {
  const res = await t.app.inject({
    method: method as "GET",
    url,
    headers: { "x-api-key": t.apiKey, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, json: res.json() as Record<string, unknown> & { items?: unknown[] } };
}

async function createWebhook(t: TestApp, body: Record<string, unknown>) {
  const res = await api(t, "POST", "/api/v1/webhooks", body);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { id: res.json.webhook_id as string, secret: res.json.secret as string };
}

/**
 * Resolves once no delivery job is queued or running: everything published so far has been sent (or
 * given up on), so what the receiver has not got by now it will not get.
 */
async function deliveryJobsSettled(t: TestApp): Promise<void> {
  await until("every webhook delivery job to finish", async () => {
    const { pending } = await t.services.storage.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.countAll().as("pending"))
      .where("kind", "in", ["webhooks.deliver", "webhooks.deliver-batch"])
      .where("status", "in", ["queued", "running"])
      .executeTakeFirstOrThrow();
    return Number(pending) === 0;
  });
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

describe("webhook address guard", () => {
  it("classifies loopback, private, link-local, metadata and mapped addresses as private, public ones not", () => {
    for (const address of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00:ec2::254",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "not-an-ip",
    ])
      assert.equal(isPrivateAddress(address), true, address);
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
      assert.equal(isPrivateAddress(address), false, address);
  });
});

// Each suite on every dialect (DIALECTS=sqlite,postgres; both by default): deliveries, retries and
// replays live in the database.
for (const dialect of dialects()) {
  describe(`webhook API (Unipile v1) under the SDK's strict validation, on ${dialect}`, () =>
    webhookApiSuite(dialect));
  describe(`webhook delivery on ${dialect}`, () => deliverySuite(dialect));
  describe(`webhook SSRF guard on ${dialect}`, () => ssrfGuardSuite(dialect));
}

function webhookApiSuite(dialect: Dialect): void {
  let t: TestApp;
  let baseUrl: string;
  before(async () => {
    t = await createTestApp(dialect);
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  after(() => t.dispose());

  it("create returns 201 WebhookCreated with a secret; list and delete pass strict validation, even for mail_moved, thread_id and account_status", async () => {
    const client = sdk(t, baseUrl);
    const created = (await client.webhook.create({
      request_url: "https://receiver.example.com/hook",
      source: "email",
      name: "crm",
      headers: [{ key: "Authorization", value: "Bearer x" }],
      events: ["mail_received", "mail_sent"],
    } as never)) as unknown as { object: string; webhook_id: string; secret: string };
    assert.equal(created.object, "WebhookCreated");
    assert.match(created.secret, /^whsec_/);

    const moved = await createWebhook(t, {
      request_url: "https://receiver.example.com/moved",
      source: "email",
      events: ["mail_moved", "mail_received"],
      data: [
        { name: "id", key: "email_id" },
        { name: "thread", key: "thread_id" },
      ],
      account_ids: ["acc1"],
    });
    await createWebhook(t, { request_url: "https://receiver.example.com/status", source: "account_status" });

    const list = (await client.webhook.getAll()) as unknown as {
      object: string;
      cursor: string | null;
      items: {
        id: string;
        events?: string[];
        data: unknown[];
        mailroom: { events: string[]; data: unknown[]; all_accounts: boolean };
      }[];
    };
    assert.equal(list.object, "WebhookList");
    assert.equal(list.items.length, 3);
    assert.equal(list.cursor, null);
    const m = list.items.find((i) => i.id === moved.id)!;
    assert.deepEqual(m.events, ["mail_received"], "only what the SDK accepts in the standard slot");
    assert.deepEqual(m.mailroom.events, ["mail_moved", "mail_received"], "the full list alongside");
    assert.deepEqual(m.data, [{ name: "id", key: "email_id" }]);
    assert.equal(m.mailroom.data.length, 2);
    assert.equal(m.mailroom.all_accounts, false);

    const page = await api(t, "GET", "/api/v1/webhooks?limit=2");
    assert.equal(page.json.items?.length, 2);
    assert.match(String(page.json.cursor), /^[A-Za-z0-9+/]+=*$/, "standard base64 cursor");
    const rest = await api(
      t,
      "GET",
      `/api/v1/webhooks?limit=2&cursor=${encodeURIComponent(String(page.json.cursor))}`,
    );
    assert.equal(rest.json.items?.length, 1);
    assert.equal(rest.json.cursor, null);

    const deleted = (await client.webhook.delete(created.webhook_id)) as unknown as { object: string };
    assert.equal(deleted.object, "WebhookDeleted");
    assert.equal((await api(t, "DELETE", `/api/v1/webhooks/${created.webhook_id}`)).status, 404);
  });

  for (const [name, body, field] of [
    ["an unsupported source", { request_url: "https://x.example", source: "messaging" }, "body.source"],
    [
      "an event of another source",
      { request_url: "https://x.example", source: "email", events: ["ok"] },
      "body.events[0]",
    ],
    [
      "an unknown data key",
      { request_url: "https://x.example", source: "email", data: [{ name: "a", key: "nope" }] },
      "body.data[0].key",
    ],
    [
      "a reserved header",
      {
        request_url: "https://x.example",
        source: "email",
        headers: [{ key: "X-Mailroom-Attempt", value: "9" }],
      },
      "body.headers[0].key",
    ],
    ["a URL that is not http(s)", { request_url: "ftp://x.example", source: "email" }, "request_url"],
    [
      "a host name label of 300 characters",
      { request_url: `http://${"a".repeat(300)}.example/hook`, source: "email" },
      "request_url: host name",
    ],
    [
      "a user name and password in the URL",
      { request_url: "https://user:secret@receiver.example.com/hook", source: "email" },
      "request_url: must not carry a user name or password",
    ],
    [
      "a URL longer than 2048 characters",
      { request_url: `https://receiver.example.com/${"p".repeat(2048)}`, source: "email" },
      "request_url: longer than 2048",
    ],
  ] as const) {
    it(`${name} → 400 errors/invalid_parameters naming ${field}`, async () => {
      const res = await api(t, "POST", "/api/v1/webhooks", body);
      assert.equal(res.status, 400);
      assert.equal(res.json.type, "errors/invalid_parameters");
      assert.ok(String(res.json.detail).includes(field), String(res.json.detail));
    });
  }
}

function deliverySuite(dialect: Dialect): void {
  let t: TestApp;
  let receiver: Receiver;
  before(async () => {
    t = await createTestApp(
      dialect,
      { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
      { jobs: { pollIntervalMs: 20 }, webhooks: { delivery: FAST_RETRIES } },
    );
    await t.services.jobs.start();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.dispose();
  });

  it("a mail_received event reaches the receiver as Unipile's payload, signed, with event id and attempt headers; publishing the id again delivers nothing more", async () => {
    receiver.received.length = 0;
    const hook = await createWebhook(t, {
      request_url: receiver.url,
      source: "email",
      name: "my hook",
      headers: [{ key: "X-Custom", value: "yes" }],
    });
    const event = { id: "evt-mail-1", type: "mail_received" as const, accountId: "acc-1", payload: MAIL };
    assert.deepEqual(await t.services.webhooks.publish(event), { eventId: "evt-mail-1", deliveries: 1 });
    assert.deepEqual(await t.services.webhooks.publish(event), { eventId: "evt-mail-1", deliveries: 1 });
    const call = await until("the delivery", () => receiver.received[0]);
    const { email_id, ...rest } = MAIL;
    assert.equal(
      call.body,
      JSON.stringify({
        email_id,
        account_id: "acc-1",
        event: "mail_received",
        webhook_name: "my hook",
        ...rest,
      }),
    );
    assert.equal(call.headers["content-type"], "application/json");
    assert.equal(call.headers["x-custom"], "yes");
    assert.equal(call.headers["x-mailroom-event-id"], "evt-mail-1");
    assert.equal(call.headers["x-mailroom-attempt"], "1");
    assert.ok(verifySignature(hook.secret, call.body, String(call.headers["x-mailroom-signature"]), now()));
    assert.ok(
      !verifySignature("whsec_other", call.body, String(call.headers["x-mailroom-signature"]), now()),
    );

    const log = await until("the delivery to be recorded", async () => {
      const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries`);
      const items = res.json.items as { status: string }[];
      return items[0]?.status === "delivered" ? items : undefined;
    });
    assert.equal(log.length, 1, "one delivery per (event, webhook)");
    await deliveryJobsSettled(t);
    assert.equal(receiver.received.length, 1);
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("publishMany stores several events in one unit of work, each delivered once; an invalid id among them stores none", async () => {
    receiver.received.length = 0;
    const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
    const events = ["evt-many-1", "evt-many-2", "evt-many-3"].map((id) => ({
      id,
      type: "mail_received" as const,
      accountId: "acc-1",
      payload: { ...MAIL, subject: id },
    }));
    await t.services.webhooks.publish(events[0]!);
    assert.deepEqual(
      await t.services.webhooks.publishMany(events),
      events.map((event) => ({ eventId: event.id, deliveries: 1 })),
    );
    await assert.rejects(
      t.services.webhooks.publishMany([
        { ...events[0]!, id: "evt-many-4" },
        { ...events[0]!, id: "" },
      ]),
      RangeError,
    );
    await until("three deliveries", () => (receiver.received.length >= 3 ? true : undefined));
    await deliveryJobsSettled(t);
    assert.deepEqual(receiver.received.map((call) => String(call.headers["x-mailroom-event-id"])).sort(), [
      "evt-many-1",
      "evt-many-2",
      "evt-many-3",
    ]);
    const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries`);
    assert.equal(res.json.items?.length, 3, "nothing of the refused call was stored");
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("data selects and renames keys; format form sends a urlencoded body; events and account_ids filter", async () => {
    receiver.received.length = 0;
    const hook = await createWebhook(t, {
      request_url: receiver.url,
      source: "email",
      format: "form",
      events: ["mail_moved"],
      account_ids: ["acc-2"],
      data: [
        { name: "id", key: "email_id" },
        { name: "where", key: "folders" },
      ],
    });
    const otherEvent = await t.services.webhooks.publish({
      id: "evt-f1",
      type: "mail_received",
      accountId: "acc-2",
      payload: MAIL,
    });
    assert.equal(otherEvent.deliveries, 0, "an event the webhook does not list");
    const otherAccount = await t.services.webhooks.publish({
      id: "evt-f2",
      type: "mail_moved",
      accountId: "acc-3",
      payload: MAIL,
    });
    assert.equal(otherAccount.deliveries, 0, "an account the webhook does not list");
    const result = await t.services.webhooks.publish({
      id: "evt-f3",
      type: "mail_moved",
      accountId: "acc-2",
      payload: { ...MAIL, folders: ["Archive"], role: "archive" },
    });
    assert.equal(result.deliveries, 1);
    const call = await until("the delivery", () => receiver.received[0]);
    assert.equal(call.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(
      call.body,
      `id=${encodeURIComponent(MAIL.email_id)}&where=${encodeURIComponent('["Archive"]')}`,
    );
    assert.ok(verifySignature(hook.secret, call.body, String(call.headers["x-mailroom-signature"]), now()));
    await deliveryJobsSettled(t);
    assert.equal(receiver.received.length, 1, "the other events did not match");
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("a receiver that is down is retried with the same event id and increasing attempt numbers, then delivered", async () => {
    receiver.received.length = 0;
    receiver.respond = (_req, index) => ({ status: index < 2 ? 503 : 200 });
    const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
    await t.services.webhooks.publish({
      id: "evt-down",
      type: "mail_received",
      accountId: "a",
      payload: MAIL,
    });
    await until("three attempts", () => receiver.received.length >= 3 || undefined);
    assert.deepEqual(
      receiver.received.map((r) => [r.headers["x-mailroom-event-id"], r.headers["x-mailroom-attempt"]]),
      [
        ["evt-down", "1"],
        ["evt-down", "2"],
        ["evt-down", "3"],
      ],
    );
    const item = await until("delivered", async () => {
      const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries`);
      const first = (res.json.items as { status: string; attempts: number; last_status_code: number }[])[0];
      return first?.status === "delivered" ? first : undefined;
    });
    assert.equal(item.attempts, 3);
    assert.equal(item.last_status_code, 200);
    receiver.respond = undefined;
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("after the last attempt a delivery is failed and listed; replaying failures since a time, or one event, delivers again", async () => {
    receiver.received.length = 0;
    receiver.respond = () => ({ status: 500 });
    const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
    const since = new Date(Date.now() - 1000).toISOString();
    await t.services.webhooks.publish({
      id: "evt-fail",
      type: "mail_received",
      accountId: "a",
      payload: MAIL,
    });
    const failed = await until("the delivery to fail", async () => {
      const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries?status=failed`);
      return (res.json.items as { attempts: number; last_error: string; event_id: string }[])[0];
    });
    assert.equal(failed.attempts, FAST_RETRIES.maxAttempts);
    assert.equal(failed.last_error, "HTTP 500");
    assert.equal(failed.event_id, "evt-fail");
    assert.equal(receiver.received.length, FAST_RETRIES.maxAttempts);

    receiver.respond = undefined;
    receiver.received.length = 0;
    const replay = await api(t, "POST", `/api/v1/webhooks/${hook.id}/replay`, { since });
    assert.equal(replay.status, 202);
    assert.equal(replay.json.count, 1);
    const again = await until("the replayed delivery", () => receiver.received[0]);
    assert.equal(again.headers["x-mailroom-event-id"], "evt-fail");
    assert.equal(again.headers["x-mailroom-attempt"], "1", "a replay starts a new round");
    await until("the replay to be recorded", async () => {
      const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries?status=delivered`);
      return (res.json.items as unknown[]).length === 1 || undefined;
    });

    // A delivered event can be asked for again too.
    const one = await api(t, "POST", `/api/v1/webhooks/${hook.id}/replay`, { event_id: "evt-fail" });
    assert.equal(one.json.count, 1);
    await until("the second replay", () => receiver.received.length === 2 || undefined);
    assert.equal(
      (await api(t, "POST", `/api/v1/webhooks/${hook.id}/replay`, { event_id: "nope" })).status,
      404,
    );
    assert.equal((await api(t, "POST", `/api/v1/webhooks/${hook.id}/replay`, {})).status, 400);
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("after a secret rotation both secrets verify during the grace period, then only the new one", async () => {
    receiver.received.length = 0;
    const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
    const rotated = await api(t, "POST", `/api/v1/webhooks/${hook.id}/rotate_secret`, {
      grace_period_seconds: 3600,
    });
    assert.equal(rotated.status, 200);
    const secret2 = rotated.json.secret as string;
    assert.notEqual(secret2, hook.secret);
    await t.services.webhooks.publish({
      id: "evt-rot-1",
      type: "mail_received",
      accountId: "a",
      payload: MAIL,
    });
    const first = await until("a delivery during the grace period", () => receiver.received[0]);
    const sig1 = String(first.headers["x-mailroom-signature"]);
    assert.ok(verifySignature(hook.secret, first.body, sig1, now()), "the old secret still verifies");
    assert.ok(verifySignature(secret2, first.body, sig1, now()), "the new secret verifies");

    const expired = await api(t, "POST", `/api/v1/webhooks/${hook.id}/rotate_secret`, {
      grace_period_seconds: 0,
    });
    const secret3 = expired.json.secret as string;
    await t.services.webhooks.publish({
      id: "evt-rot-2",
      type: "mail_received",
      accountId: "a",
      payload: MAIL,
    });
    const second = await until("a delivery after the grace period", () => receiver.received[1]);
    const sig2 = String(second.headers["x-mailroom-signature"]);
    assert.ok(verifySignature(secret3, second.body, sig2, now()));
    assert.ok(!verifySignature(secret2, second.body, sig2, now()), "the previous secret no longer verifies");
    assert.equal(sig2.split("v1=").length, 2, "one signature once the grace period is over");
    await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
  });

  it("a receiver that never answers does not delay deliveries to another endpoint", async () => {
    const slow = await startReceiver();
    slow.respond = () => "hang";
    try {
      receiver.received.length = 0;
      const slowHook = await createWebhook(t, {
        request_url: slow.url,
        source: "email",
        events: ["mail_sent"],
      });
      for (let i = 0; i < 10; i++)
        await t.services.webhooks.publish({
          id: `evt-slow-${i}`,
          type: "mail_sent",
          accountId: "a",
          payload: MAIL,
        });
      await until("the slow endpoint to be busy", () => slow.received.length >= 4 || undefined);
      const fastHook = await createWebhook(t, { request_url: receiver.url, source: "email" });
      const started = Date.now();
      await t.services.webhooks.publish({
        id: "evt-fast",
        type: "mail_received",
        accountId: "a",
        payload: MAIL,
      });
      await until("the fast delivery", () => receiver.received[0], 2_000);
      assert.ok(Date.now() - started < 2_000);
      assert.ok(slow.received.length <= 4, "at most 4 deliveries in flight to one endpoint");
      // A delivery that waited for one of the endpoint's slots in vain is snoozed: queued again,
      // claimed before (claims) but with no attempt spent.
      const queuedDeliveries = () =>
        t.services.storage.db
          .selectFrom("jobs")
          .select(["attempts", "claims"])
          .where("kind", "=", "webhooks.deliver")
          .where("status", "=", "queued")
          .execute();
      await until("a delivery waiting for the slow endpoint to be snoozed", async () =>
        (await queuedDeliveries()).some((job) => job.claims > 0),
      );
      assert.ok(
        (await queuedDeliveries()).every((job) => job.attempts === 0),
        "waiting for a busy endpoint spends no attempt",
      );
      await api(t, "DELETE", `/api/v1/webhooks/${slowHook.id}`);
      await api(t, "DELETE", `/api/v1/webhooks/${fastHook.id}`);
    } finally {
      await slow.close();
    }
  });

  it("redirects are not followed: a 302 is a failed attempt and the target gets nothing", async () => {
    const target = await startReceiver();
    try {
      receiver.received.length = 0;
      receiver.respond = () => ({ status: 302, headers: { location: target.url } });
      const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
      await t.services.webhooks.publish({
        id: "evt-redirect",
        type: "mail_received",
        accountId: "a",
        payload: MAIL,
      });
      const failed = await until("the delivery to fail", async () => {
        const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries?status=failed`);
        return (res.json.items as { last_error: string }[])[0];
      });
      assert.match(failed.last_error, /redirects are not followed/);
      assert.equal(target.received.length, 0);
      receiver.respond = undefined;
      await api(t, "DELETE", `/api/v1/webhooks/${hook.id}`);
    } finally {
      await target.close();
    }
  });
}

function ssrfGuardSuite(dialect: Dialect): void {
  let t: TestApp;
  let receiver: Receiver;
  // Names whose DNS answer a test changes after the webhook was created ("rebound" names).
  const rebound = new Map<string, string>();
  const lookup = reboundLookup(rebound);
  before(async () => {
    t = await createTestApp(
      dialect,
      {},
      { jobs: { pollIntervalMs: 20 }, webhooks: { delivery: FAST_RETRIES, lookup } },
    );
    await t.services.jobs.start();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.dispose();
  });

  it("without the sandbox or WEBHOOK_ALLOW_PRIVATE_ADDRESSES, creating a webhook for a loopback address or a name resolving to one → 400 naming the variable, nothing stored", async () => {
    assert.equal(t.config.webhooks.allowPrivateAddresses, false);
    const port = new URL(receiver.url).port;
    for (const url of [receiver.url, `http://localhost:${port}/hook`, `http://[::1]:${port}/hook`]) {
      const res = await api(t, "POST", "/api/v1/webhooks", { request_url: url, source: "email" });
      assert.equal(res.status, 400, url);
      assert.equal(res.json.type, "errors/invalid_parameters");
      assert.match(String(res.json.detail), /^request_url: /);
      assert.match(String(res.json.detail), /private, loopback, link-local or metadata address/);
      assert.match(String(res.json.detail), /WEBHOOK_ALLOW_PRIVATE_ADDRESSES/);
    }
    const listed = await api(t, "GET", "/api/v1/webhooks");
    assert.equal(listed.json.items?.length, 0, "refused webhooks are not stored");
  });

  it("a host name that does not resolve at creation → 400 saying so", async () => {
    const res = await api(t, "POST", "/api/v1/webhooks", {
      request_url: "https://nowhere.invalid/hook",
      source: "email",
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.type, "errors/invalid_parameters");
    assert.match(
      String(res.json.detail),
      /request_url: the host name nowhere\.invalid could not be resolved/,
    );
  });

  it("a name that resolved to a public address at creation and to a loopback one later is refused at delivery, once, with the reason in the delivery log, and nothing is sent", async () => {
    const port = new URL(receiver.url).port;
    for (const [i, address] of ["127.0.0.1", "::1"].entries()) {
      const host = `rebound-${i}.example`;
      rebound.set(host, EXAMPLE_ADDRESS);
      const url = `http://${host}:${port}/hook`;
      const hook = await createWebhook(t, { request_url: url, source: "email" });
      rebound.set(host, address);
      await t.services.webhooks.publish({
        id: `evt-ssrf-${url}`,
        type: "mail_received",
        accountId: "a",
        payload: MAIL,
      });
      const failed = await until(`the delivery to ${url} to be refused`, async () => {
        const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries?status=failed`);
        return (res.json.items as { last_error: string; attempts: number }[])[0];
      });
      assert.match(failed.last_error, /private, loopback, link-local or metadata address/);
      assert.match(failed.last_error, /WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on/);
      assert.equal(failed.attempts, 1, "refusals are not retried");
    }
    assert.equal(receiver.received.length, 0);
  });
}

describe("webhooks with the embedded sandbox on (local development)", () => {
  let t: TestApp;
  let receiver: Receiver;
  before(async () => {
    t = await createTestApp("sqlite", { SANDBOX: "on" }, { jobs: { pollIntervalMs: 20 } });
    await t.services.jobs.start();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await t.dispose();
  });

  it("without WEBHOOK_ALLOW_PRIVATE_ADDRESSES, a webhook on 127.0.0.1 is accepted and delivered", async () => {
    assert.equal(t.config.webhooks.allowPrivateAddresses, true);
    const hook = await createWebhook(t, { request_url: receiver.url, source: "email" });
    await t.services.webhooks.publish({
      id: "evt-local",
      type: "mail_received",
      accountId: "a",
      payload: MAIL,
    });
    await until("the local delivery", () => receiver.received[0]);
    // The outcome is recorded once the response is read, a moment after the receiver saw the request.
    await until("the delivery to be recorded as delivered", async () => {
      const res = await api(t, "GET", `/api/v1/webhooks/${hook.id}/deliveries`);
      return (res.json.items as { status: string }[])[0]?.status === "delivered";
    });
  });
});
