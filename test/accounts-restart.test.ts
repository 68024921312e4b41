// POST /api/v1/accounts/{id}/restart (Unipile's OpenAPI; the SDK has no call for it): over HTTP against
// Mailroom + the sandbox. Polling is a day apart and subscriptions are off, so mail that arrives after
// the first sync is found only by the catch-up sync a restart queues.
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

describe("accounts: restart", () => {
  let h: ConnectHarness;
  let receiver: Receiver;
  let adeleId: string;
  const restart = async (id: string) => {
    const res = await fetch(`${h.baseUrl}/api/v1/accounts/${id}/restart`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey },
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness("sqlite", {
      env: {
        POLL_INTERVAL_SECONDS: "86400",
        GRAPH_SUBSCRIPTIONS: "off",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
      },
    });
    await createEmailWebhook(h, receiver.url);
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("answers 200 AccountRestarted and catches up: mail that arrived since is announced", async () => {
    await deliverMail(h.sandbox.url, "Arrived before the restart");
    const res = await restart(adeleId);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json, { object: "AccountRestarted" });
    await until("mail_received for the mail found by the catch-up sync", () =>
      eventsOf(receiver).find(
        (e) => e.body.event === "mail_received" && e.body.subject === "Arrived before the restart",
      ),
    );
  });

  it("an account that must sign in again answers 200 AccountFailedToRestart", async () => {
    await h.services.repos.accounts.update(adeleId, { status: "CREDENTIALS" });
    try {
      const res = await restart(adeleId);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { object: "AccountFailedToRestart" });
    } finally {
      await h.services.repos.accounts.update(adeleId, { status: "OK" });
    }
  });

  it("an unknown account is 404 errors/resource_not_found in Unipile's shape", async () => {
    const res = await restart("AAAAAAAAAAAAAAAAAAAAAA");
    assert.equal(res.status, 404);
    assert.equal(res.json.type, "errors/resource_not_found");
    assert.equal(res.json.status, 404);
    assert.ok(typeof res.json.title === "string");
  });
});
