// `origin` and `tracking_id` on mail_sent (unipile reference §3.3): mail sent through
// `POST /api/v1/emails` is announced with `origin: "unipile"` and the tracking_id the send returned;
// mail the user sends outside Mailroom (Graph `sendMail` with the user's own token, as Outlook
// would) with `origin: "external"` and no tracking_id. Against the sandbox over HTTP, real SQLite.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseIdRef } from "../src/domain/email/email-ids.ts";
import { HousekeepingService } from "../src/domain/housekeeping/housekeeping.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import { HousekeepingRepository } from "../src/storage/repositories/housekeeping.repository.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import {
  connectAdele,
  createEmailWebhook,
  eventsOf,
  type Receiver,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

describe("realtime: origin of mail_sent", () => {
  let h: ConnectHarness;
  let receiver: Receiver;
  let adeleId: string;

  const sentEvent = (subject: string) =>
    until(
      `mail_sent for ${subject}`,
      () => eventsOf(receiver).find((e) => e.body.event === "mail_sent" && e.body.subject === subject),
      20_000,
    );

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness("sqlite", {
      env: { POLL_INTERVAL_SECONDS: "1", GRAPH_SUBSCRIPTIONS: "off", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
    });
    await createEmailWebhook(h, receiver.url);
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("mail sent through POST /api/v1/emails is announced with origin unipile and the send's tracking_id", async () => {
    const res = await fetch(`${h.baseUrl}/api/v1/emails`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        account_id: adeleId,
        to: [{ identifier: "someone@fabrikam.example" }],
        subject: "Sent through the API",
        body: "<p>hello</p>",
      }),
    });
    const sent = (await res.json()) as { object: string; tracking_id: string; id: string };
    assert.equal(res.status, 201, JSON.stringify(sent));
    const event = await sentEvent("Sent through the API");
    assert.equal(event.body.origin, "unipile");
    assert.equal(event.body.tracking_id, sent.tracking_id);
    assert.equal(event.body.email_id, sent.id, "immutable ids: the sent mail keeps the draft's id");
    assert.equal(event.body.role, "sent");
    const keys = Object.keys(event.body);
    assert.equal(keys.indexOf("tracking_id"), keys.indexOf("origin") - 1, "tracking_id just before origin");
  });

  it("mail the user sends outside Mailroom (sendMail with their own token) is origin external, without tracking_id", async () => {
    const token = await h.services.tokens.getAccessToken(adeleId);
    const res = await fetch(`${h.sandbox.url}/v1.0/me/sendMail`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        message: {
          subject: "Sent from Outlook",
          body: { contentType: "Text", content: "hi" },
          toRecipients: [{ emailAddress: { address: "someone@fabrikam.example" } }],
        },
        saveToSentItems: true,
      }),
    });
    assert.equal(res.status, 202, await res.text());
    const event = await sentEvent("Sent from Outlook");
    assert.equal(event.body.origin, "external");
    assert.equal("tracking_id" in event.body, false);
  });

  it("the sent-mail log forgets sends older than its retention (housekeeping prunes with its clock's now)", async () => {
    const log = h.services.realtime.d.sentOrigin!;
    const sent = await h.services.emailSend.send({
      account_id: adeleId,
      to: [{ identifier: "someone@fabrikam.example" }],
      subject: "Pruned later",
      body: "x",
    });
    const graphId = parseIdRef(sent.id)!.graphId;
    assert.deepEqual(await log.originOf(adeleId, graphId), {
      origin: "unipile",
      trackingId: sent.tracking_id,
    });
    assert.deepEqual(await log.originOf("another-account", graphId), { origin: "external" });
    const housekeepingAt = (ms: number) =>
      new HousekeepingService({
        repo: new HousekeepingRepository(h.services.storage.db),
        jobs: h.services.repos.jobs,
        retention: h.services.config.retention,
        clock: new TestClock(ms),
        log: { info() {}, debug() {} },
      }).run();
    await housekeepingAt(Date.now() + 29 * 24 * 3600_000);
    assert.equal((await log.originOf(adeleId, graphId)).origin, "unipile", "kept within 30 days");
    await housekeepingAt(Date.now() + 31 * 24 * 3600_000);
    assert.deepEqual(await log.originOf(adeleId, graphId), { origin: "external" });
    // The message itself still says so: origin and tracking_id are read from its mark, not the log.
    const read = await until("the sent copy in Sent Items", async () => {
      const res = await fetch(`${h.baseUrl}/api/v1/emails/${sent.id}`, {
        headers: { "x-api-key": h.t.apiKey },
      });
      const email = (await res.json()) as { role: string; origin: string; tracking_id?: string };
      return email.role === "sent" ? email : undefined;
    });
    assert.equal(read.origin, "unipile");
    assert.equal(read.tracking_id, sent.tracking_id);
  });

  it("a received reply is announced with in_reply_to naming the parent Mailroom sent", async () => {
    const parent = await sentEvent("Sent through the API");
    const res = await fetch(`${h.sandbox.url}/_sandbox/mail`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        from: "someone@fabrikam.example",
        to: ["adele.vance@contoso.onmicrosoft.com"],
        subject: "RE: Sent through the API",
        body: "answer",
        in_reply_to: parent.body.message_id,
      }),
    });
    assert.equal(res.status, 201, await res.text());
    const event = await until(
      "mail_received for the reply",
      () =>
        eventsOf(receiver).find(
          (e) => e.body.event === "mail_received" && e.body.subject === "RE: Sent through the API",
        ),
      20_000,
    );
    assert.deepEqual(event.body.in_reply_to, {
      message_id: parent.body.message_id,
      id: parent.body.email_id,
    });
    assert.equal(event.body.origin, "external");
    const keys = Object.keys(event.body);
    assert.equal(keys.indexOf("in_reply_to"), keys.indexOf("is_complete") + 1, "in the documented order");
  });
});
