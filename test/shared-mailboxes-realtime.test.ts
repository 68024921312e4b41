// Realtime for a shared mailbox (docs/shared-mailboxes.md): delta polling on /users/{address}/…
// with the delegate's token turns its new mail into mail_received for the shared account, and no
// Graph subscription is attempted for it (the .Shared permissions do not cover change notifications),
// while the delegate's own mailbox keeps its subscription.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import {
  ADELE,
  connectAdele,
  createEmailWebhook,
  deliverMail,
  eventsOf,
  type Receiver,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

const SALES = "sales@contoso.onmicrosoft.com";

describe("realtime for a shared mailbox", () => {
  let h: ConnectHarness;
  let receiver: Receiver;
  let adeleId: string;
  let salesId: string;

  const sandboxAdmin = async (path: string, body: unknown) => {
    const res = await fetch(`${h.sandbox.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, await res.clone().text());
  };

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness("sqlite", {
      allowHttpNotifications: true,
      env: { POLL_INTERVAL_SECONDS: "1", GRAPH_SUBSCRIPTIONS: "on", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
    });
    await h.services.microsoftSettings.setSharedMailboxes(true);
    await createEmailWebhook(h, receiver.url);
    adeleId = await connectAdele(h);
    await sandboxAdmin("/_sandbox/users", { email: SALES, kind: "shared" });
    await sandboxAdmin(`/_sandbox/mailboxes/${SALES}/permissions`, {
      user: ADELE,
      rights: ["FullAccess", "SendAs"],
    });
    const res = await fetch(`${h.baseUrl}/api/v1/accounts/${adeleId}/shared_mailboxes`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ email: SALES }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    salesId = ((await res.json()) as { account_id: string }).account_id;
    await waitForBaseline(h.services, salesId);
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("mail to the shared mailbox becomes mail_received for the shared account, found by polling", async () => {
    await deliverMail(h.sandbox.url, "Order 1042", SALES);
    const event = await until(
      "mail_received for the shared mailbox",
      () =>
        eventsOf(receiver).find((e) => e.body.event === "mail_received" && e.body.subject === "Order 1042"),
      20_000,
    );
    assert.equal(event.body.account_id, salesId);
    const email = await fetch(`${h.baseUrl}/api/v1/emails/${String(event.body.email_id)}`, {
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(email.status, 200);
  });

  it("the shared account gets no Graph subscription; the delegate keeps its own", async () => {
    await until(
      "the delegate's subscription",
      async () => (await h.services.realtime.status(adeleId))?.subscription_status === "active",
      15_000,
    );
    assert.equal((await h.services.realtime.status(salesId))?.subscription_id ?? null, null);
    const listing = (await (await fetch(`${h.sandbox.url}/_sandbox/subscriptions`)).json()) as {
      subscriptions: { resource: string }[];
    };
    assert.ok(listing.subscriptions.every((s) => !s.resource.includes("users/")));
  });
});
