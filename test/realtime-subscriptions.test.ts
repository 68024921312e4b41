// The subscription path against the sandbox's change notifications (http allowed in the sandbox,
// GRAPH_SUBSCRIPTIONS=on in Mailroom): polling is set to an hour, so only a notification can bring
// new mail in within the test's deadlines. Lifecycle events repair the subscription.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import {
  connectAdele,
  createEmailWebhook,
  deliverMail,
  eventsOf,
  type Receiver,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

describe("realtime: Graph subscriptions", () => {
  let h: ConnectHarness;
  let receiver: Receiver;
  let adeleId: string;

  const scenario = async (body: Record<string, unknown>) => {
    const res = await fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text) as { subscriptions: { id: string; notified: boolean }[] };
  };
  const received = (subject: string) =>
    until(
      `mail_received for ${subject}`,
      () => eventsOf(receiver).find((e) => e.body.event === "mail_received" && e.body.subject === subject),
      15_000,
    );

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness("sqlite", {
      allowHttpNotifications: true,
      env: {
        POLL_INTERVAL_SECONDS: "3600",
        GRAPH_SUBSCRIPTIONS: "on",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
      },
    });
    await createEmailWebhook(h, receiver.url);
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
    await until(
      "the subscription",
      async () => (await h.services.realtime.status(adeleId))?.subscription_status === "active",
      15_000,
    );
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("connecting creates a subscription on me/messages after the validation handshake, with a clientState Mailroom keeps only hashed", async () => {
    const state = (await h.services.realtime.status(adeleId))!;
    const listing = (await (await fetch(`${h.sandbox.url}/_sandbox/subscriptions`)).json()) as {
      subscriptions: { id: string; resource: string; notificationUrl: string; clientState?: string }[];
      deliveries: { kind?: string; type?: string; ok?: boolean; status?: number }[];
    };
    const sub = listing.subscriptions.find((s) => s.id === state.subscription_id);
    assert.ok(sub, "the sandbox has the subscription Mailroom stored");
    assert.equal(sub.resource, "me/messages");
    assert.equal(sub.notificationUrl, `${h.baseUrl}/api/v1/realtime/graph/notifications`);
    assert.ok(state.subscription_expires_at! > Date.now() + 24 * 3600_000);
    assert.match(String(state.client_state_hash), /^[0-9a-f]{64}$/);
  });

  it("the validation handshake echoes the token as text/plain; notifications with a wrong clientState are accepted (202) and ignored", async () => {
    const token = "Validation: <b>token</b> & more";
    const res = await fetch(
      `${h.baseUrl}/api/v1/realtime/graph/notifications?validationToken=${encodeURIComponent(token)}`,
      { method: "POST", headers: { "content-type": "text/plain; charset=utf-8" } },
    );
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get("content-type")), /^text\/plain/);
    assert.equal(await res.text(), token);

    const state = (await h.services.realtime.status(adeleId))!;
    const forged = await h.services.realtime.acceptNotifications({
      value: [{ subscriptionId: state.subscription_id, clientState: "guess", changeType: "created" }],
    });
    assert.deepEqual(forged, { accepted: 0, rejected: 1 });
    const post = await fetch(`${h.baseUrl}/api/v1/realtime/graph/notifications`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ value: [{ subscriptionId: "nope", clientState: "x" }] }),
    });
    assert.equal(post.status, 202);
  });

  it("new mail arrives through a change notification (no poll due) as one mail_received", async () => {
    await deliverMail(h.sandbox.url, "Pushed to you");
    await received("Pushed to you");
    // A sync queued for another reason (the subscription's own catch-up) may find the mail a moment
    // before the notification lands; either way the notification arrives and adds no second event.
    await until(
      "the change notification",
      async () => (await h.services.realtime.status(adeleId))?.last_notification_at,
      15_000,
    );
    // The sync the notification queued gets a moment to run: it must find nothing new.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const events = eventsOf(receiver).filter(
      (e) => e.body.event === "mail_received" && e.body.subject === "Pushed to you",
    );
    assert.equal(new Set(events.map((e) => e.body.email_id)).size, 1, "one message announced");
    assert.equal(new Set(events.map((e) => e.id)).size, 1, "under one event id");
  });

  it("subscriptionRemoved → a new subscription, and mail keeps flowing", async () => {
    const before = (await h.services.realtime.status(adeleId))!.subscription_id;
    const fired = await scenario({
      action: "subscription_lifecycle",
      event: "subscriptionRemoved",
      subscription_id: before,
    });
    assert.equal(fired.subscriptions[0]?.notified, true);
    await until(
      "a new subscription",
      async () => {
        const s = await h.services.realtime.status(adeleId);
        return s?.subscription_status === "active" && s.subscription_id !== before;
      },
      15_000,
    );
    await deliverMail(h.sandbox.url, "After the removal");
    await received("After the removal");
  });

  it("reauthorizationRequired renews the subscription; missed catches up through delta", async () => {
    const state = (await h.services.realtime.status(adeleId))!;
    await h.services.realtime.d.repo.updateAccount(adeleId, { subscription_expires_at: Date.now() + 60_000 });
    await scenario({
      action: "subscription_lifecycle",
      event: "reauthorizationRequired",
      subscription_id: state.subscription_id,
    });
    await until(
      "the renewal",
      async () =>
        ((await h.services.realtime.status(adeleId))?.subscription_expires_at ?? 0) > Date.now() + 3600_000,
      15_000,
    );
    assert.equal((await h.services.realtime.status(adeleId))!.subscription_id, state.subscription_id);

    // `missed`: Graph dropped notifications, so Mailroom runs a delta sync at once.
    const synced = (await h.services.realtime.status(adeleId))!.last_sync_at ?? 0;
    await scenario({
      action: "subscription_lifecycle",
      event: "missed",
      subscription_id: state.subscription_id,
    });
    await until(
      "the catch-up sync",
      async () => ((await h.services.realtime.status(adeleId))?.last_sync_at ?? 0) > synced,
      15_000,
    );
    // Every mail delivered so far was announced exactly once.
    const subjects = eventsOf(receiver).map((e) => e.body.subject);
    assert.deepEqual([...subjects].sort(), ["After the removal", "Pushed to you"]);
  });
});
