// The dashboard's Webhooks API: CSRF on every change, the signing secret shown once (never listed),
// a test event delivered through the real outbox to a local receiver with a valid signature, the
// delivery log with the receiver's answer, replay (one delivery, failed since), rotation, delete,
// the callback secret, and the account page's history from the webhook event store.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { verifySignature } from "../src/outbound/signing.ts";
import { accountRow } from "./support/account-rows.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { ShiftedClock } from "./support/clock.ts";
import { startReceiver } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const API = "/dashboard/api";
const PASSWORD = "correct horse battery staple";

interface Delivery {
  id: string;
  eventId: string;
  event: string;
  test: boolean;
  status: string;
  attempts: number;
  responseStatus: number | null;
  responseExcerpt: string | null;
  error: string | null;
}

describe("dashboard webhooks", () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let cookie = "";
  let csrf = "";
  const clock = new ShiftedClock();

  before(async () => {
    receiver = await startReceiver();
    t = await createTestApp(
      "sqlite",
      { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
      {
        clock,
        jobs: { pollIntervalMs: 20 },
        webhooks: { delivery: { retryDelaysMs: [50], maxAttempts: 2, timeoutMs: 2_000 } },
      },
    );
    await t.services.jobs.start();
    const link = await t.services.admins.createLink();
    const token = new URL(link.url).searchParams.get("token")!;
    const setup = await t.app.inject({
      method: "POST",
      url: `${API}/setup`,
      headers: { "x-mailroom-csrf": "1" },
      payload: { token, email: "ops@example.com", password: PASSWORD },
    });
    assert.equal(setup.statusCode, 200, setup.body);
    cookie = String(setup.headers["set-cookie"]).split(";")[0]!;
    csrf = (await t.app.inject({ url: `${API}/session`, headers: { cookie } })).json().csrfToken;
  });
  after(async () => {
    await t?.dispose();
    await receiver?.close();
  });

  const authed = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) =>
    t.app.inject({
      method,
      url: `${API}${url}`,
      headers: { cookie, "x-mailroom-csrf": csrf },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const deliveries = async (id: string): Promise<Delivery[]> =>
    (await authed("GET", `/webhooks/${id}/deliveries`)).json().deliveries;

  let webhookId = "";
  let secret = "";

  it("needs a session to read and the CSRF header for every change", async () => {
    assert.equal((await t.app.inject({ url: `${API}/webhooks` })).statusCode, 401);
    const created = await authed("POST", "/webhooks", {
      url: receiver.url,
      source: "email",
      events: ["mail_received"],
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().webhook.id as string;
    const changes: [string, string, unknown][] = [
      ["POST", "/webhooks", { url: receiver.url, source: "email", events: ["mail_received"] }],
      ["DELETE", `/webhooks/${id}`, undefined],
      ["POST", `/webhooks/${id}/rotate-secret`, {}],
      ["POST", `/webhooks/${id}/test`, {}],
      ["POST", `/webhooks/${id}/replay`, { since: 0 }],
      ["POST", "/callback-signing/reveal", {}],
    ];
    for (const [method, url, payload] of changes) {
      for (const header of [{}, { "x-mailroom-csrf": "wrong" }]) {
        const res = await t.app.inject({
          method: method as "POST",
          url: `${API}${url}`,
          headers: { cookie, ...header },
          ...(payload === undefined ? {} : { payload: payload as object }),
        });
        assert.equal(res.statusCode, 403, `${method} ${url} ${JSON.stringify(header)}`);
        assert.doesNotMatch(res.body, /whsec_/);
      }
    }
    const list = (await authed("GET", "/webhooks")).json().webhooks;
    assert.equal(list.length, 1, "the refused create stored nothing, the refused delete deleted nothing");
    assert.equal((await deliveries(id)).length, 0, "the refused test event was not sent");
    assert.equal((await authed("DELETE", `/webhooks/${id}`)).statusCode, 200);
  });

  it("refuses a URL the API refuses, with the same reason: a 300-character host label, a password in the URL", async () => {
    for (const [url, reason] of [
      [`http://${"a".repeat(300)}.example/hook`, /host name label/],
      ["https://user:secret@receiver.example.com/hook", /user name or password/],
    ] as const) {
      const res = await authed("POST", "/webhooks", { url, source: "email", events: ["mail_received"] });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().type, "errors/invalid_parameters");
      assert.match(res.json().detail, reason);
    }
  });

  it("creates a webhook; its secret is shown once and never in the list", async () => {
    const bad = await authed("POST", "/webhooks", {
      url: "ftp://x",
      source: "email",
      events: ["mail_received"],
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().detail, /http/);
    const wrongEvent = await authed("POST", "/webhooks", {
      url: receiver.url,
      source: "email",
      events: ["deleted"],
    });
    assert.equal(wrongEvent.statusCode, 400);

    const res = await authed("POST", "/webhooks", {
      url: receiver.url,
      source: "email",
      events: ["mail_received", "mail_sent"],
      name: "crm",
      headers: [{ key: "Authorization", value: "Bearer receiver-token" }],
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    secret = body.secret;
    webhookId = body.webhook.id;
    assert.match(secret, /^whsec_/);
    assert.deepEqual(body.webhook.events, ["mail_received", "mail_sent"]);
    assert.deepEqual(body.webhook.headerNames, ["Authorization"]);

    const list = await authed("GET", "/webhooks");
    assert.equal(list.statusCode, 200);
    assert.doesNotMatch(list.body, /whsec_|secret|receiver-token/);
    const [item] = list.json().webhooks;
    assert.equal(item.url, receiver.url);
    assert.equal(item.name, "crm");
    assert.equal(item.enabled, true);
    assert.equal(item.lastDelivery, null);
    assert.doesNotMatch(t.logs.text, new RegExp(secret));
  });

  it("sends a test event through the outbox: signed, delivered, logged with the receiver's answer", async () => {
    const before = receiver.received.length;
    const res = await authed("POST", `/webhooks/${webhookId}/test`, {});
    assert.equal(res.statusCode, 202, res.body);
    const { eventId, deliveryId } = res.json();
    assert.match(eventId, /^test_/);

    const request = await until("the test event", () => receiver.received[before]);
    assert.equal(request.headers["x-mailroom-event-id"], eventId);
    assert.equal(request.headers["x-mailroom-event"], "mail_received");
    assert.equal(request.headers["x-mailroom-test"], "true");
    assert.equal(request.headers.authorization, "Bearer receiver-token");
    assert.ok(
      verifySignature(
        secret,
        request.body,
        String(request.headers["x-mailroom-signature"]),
        Date.now() / 1000,
      ),
      "signed with the webhook's secret",
    );
    const payload = JSON.parse(request.body);
    assert.equal(payload.event, "mail_received");
    assert.equal(payload.webhook_name, "crm");
    assert.equal(payload.email_id, eventId);
    assert.equal(payload.subject, "Mailroom test event");
    assert.equal(payload.mailroom_test, true);
    for (const key of [
      "account_id",
      "date",
      "from_attendee",
      "to_attendees",
      "message_id",
      "folders",
      "role",
    ])
      assert.ok(key in payload, key);

    const delivered = await until("the delivery to be recorded", async () => {
      const [d] = await deliveries(webhookId);
      return d?.status === "delivered" ? d : undefined;
    });
    assert.equal(delivered.id, deliveryId);
    assert.equal(delivered.test, true);
    assert.equal(delivered.attempts, 1);
    assert.equal(delivered.responseStatus, 200);
    assert.equal(delivered.responseExcerpt, "ok");
    const [item] = (await authed("GET", "/webhooks")).json().webhooks;
    assert.equal(item.lastDelivery.status, "delivered");
    assert.equal(item.lastDelivery.responseStatus, 200);
  });

  it("a failing receiver's answer is kept (bounded); one delivery and every failed one since replay", async () => {
    const long = `{"error":"receiver says no"}${"x".repeat(5_000)}`;
    // A receiver that refuses with a long body (startReceiver always answers "ok").
    const { createServer } = await import("node:http");
    const loud = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(503, { "content-type": "application/json" }).end(long));
    });
    await new Promise<void>((resolve) => loud.listen(0, "127.0.0.1", () => resolve()));
    try {
      const url = `http://127.0.0.1:${(loud.address() as { port: number }).port}/hook`;
      const created = (
        await authed("POST", "/webhooks", { url, source: "account_status", events: ["ok"] })
      ).json();
      const id = created.webhook.id as string;
      await authed("POST", `/webhooks/${id}/test`, {});
      const failed = await until("the delivery to fail", async () => {
        const [d] = await deliveries(id);
        return d?.status === "failed" ? d : undefined;
      });
      assert.equal(failed.attempts, 2);
      assert.equal(failed.responseStatus, 503);
      assert.equal(failed.event, "account_status");
      assert.ok(failed.responseExcerpt?.startsWith('{"error":"receiver says no"}'));
      assert.equal(failed.responseExcerpt?.length, 500, "bounded");

      // The receiver recovers: replaying the one delivery and "failed since" both deliver again.
      loud.removeAllListeners("request");
      loud.on("request", (req, res) => {
        req.resume();
        req.on("end", () => res.writeHead(204).end());
      });
      const one = await authed("POST", `/webhooks/${id}/replay`, { deliveryId: failed.id });
      assert.equal(one.statusCode, 202, one.body);
      assert.equal(one.json().count, 1);
      const replayed = await until("the replay", async () => {
        const [d] = await deliveries(id);
        return d?.status === "delivered" ? d : undefined;
      });
      assert.equal(replayed.id, failed.id);
      assert.equal(replayed.eventId, failed.eventId, "the same event");
      assert.equal(replayed.attempts, 1, "from attempt 1");
      assert.equal(replayed.responseStatus, 204);
      assert.equal(replayed.responseExcerpt, "");

      const unknown = await authed("POST", `/webhooks/${id}/replay`, { deliveryId: "nope" });
      assert.equal(unknown.statusCode, 404);
      const none = await authed("POST", `/webhooks/${id}/replay`, { since: Date.now() - 60_000 });
      assert.equal(none.json().count, 0, "nothing failed any more");
    } finally {
      loud.closeAllConnections();
      await new Promise<void>((resolve) => loud.close(() => resolve()));
    }
  });

  it("rotates the secret: shown once, and both secrets sign during the grace period", async () => {
    const res = await authed("POST", `/webhooks/${webhookId}/rotate-secret`, {});
    assert.equal(res.statusCode, 200, res.body);
    const rotated = res.json();
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, secret);
    assert.equal(rotated.graceHours, 24);
    assert.ok(rotated.previousSecretExpiresAt > Date.now() + 23 * 3600_000);
    assert.doesNotMatch((await authed("GET", "/webhooks")).body, /whsec_/);

    const before = receiver.received.length;
    await authed("POST", `/webhooks/${webhookId}/test`, {});
    const request = await until("the test event", () => receiver.received[before]);
    const header = String(request.headers["x-mailroom-signature"]);
    assert.equal(header.match(/v1=/g)?.length, 2);
    assert.ok(verifySignature(rotated.secret, request.body, header, Date.now() / 1000));
    assert.ok(verifySignature(secret, request.body, header, Date.now() / 1000));
  });

  it("reveals the notify_url callback secret on request only", async () => {
    const res = await authed("POST", "/callback-signing/reveal", {});
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().secret, await t.services.callbackSigning.get());
    assert.doesNotMatch(t.logs.text, new RegExp(res.json().secret));
  });

  it("deletes a webhook; it is gone and its deliveries with it", async () => {
    const res = await authed("DELETE", `/webhooks/${webhookId}`);
    assert.equal(res.statusCode, 200);
    assert.equal((await authed("GET", `/webhooks/${webhookId}/deliveries`)).statusCode, 404);
    assert.equal((await authed("POST", `/webhooks/${webhookId}/test`, {})).statusCode, 404);
    assert.ok(
      !(await authed("GET", "/webhooks")).json().webhooks.some((w: { id: string }) => w.id === webhookId),
    );
  });

  it("the account page lists the account's events from the webhook event store when there are any", async () => {
    const id = "c".repeat(22);
    const now = Date.now();
    await t.services.repos.accounts.insert(
      accountRow({ id, name: "Carol", email: "carol@contoso.com" }, now),
    );
    const fallback = (await authed("GET", `/accounts/${id}`)).json();
    assert.match(fallback.eventsSource, /No webhook events/);

    await t.services.webhooks.publish({
      id: "ev-status",
      type: "account_status",
      accountId: id,
      payload: {
        AccountStatus: {
          account_id: id,
          account_type: "OUTLOOK",
          message: "CREDENTIALS",
          reason: "password_changed",
        },
      },
    });
    clock.advance(1_000); // the mail event is the newer one
    await t.services.webhooks.publish({
      id: "ev-mail",
      type: "mail_received",
      accountId: id,
      payload: {
        email_id: "m1",
        subject: "Quarterly report",
        from_attendee: { identifier: "ann@example.com" },
      },
    });
    const detail = (await authed("GET", `/accounts/${id}`)).json();
    assert.match(detail.eventsSource, /published them to webhooks/);
    assert.deepEqual(
      detail.events.map((e: { kind: string }) => e.kind),
      ["mail_received", "credentials"],
    );
    assert.equal(detail.events[0].detail, "Mail received: “Quarterly report” from ann@example.com.");
    assert.match(detail.events[1].detail, /sign in again.*password changed/);
    clock.reset();
  });
});
