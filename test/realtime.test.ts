// Getting events from Microsoft, against the sandbox over HTTP on each database: delta polling
// (mail from outside → mail_received with the documented payload at a signed webhook, a move →
// mail_moved, mail sent from the mailbox → mail_sent), and a stop/restart that announces what
// arrived meanwhile exactly once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildServices } from "../src/app/services.ts";
import { createLogger } from "../src/lib/logger.ts";
import { verifySignature } from "../src/outbound/signing.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import {
  connectAdele,
  createEmailWebhook,
  deliverMail,
  eventsOf,
  type Receiver,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

// On every dialect (DIALECTS=sqlite,postgres; both by default): delta links, the messages seen and
// the sync lease live in the database.
for (const dialect of dialects()) {
  describe(`realtime: delta polling on ${dialect}`, () => deltaPollingSuite(dialect));
}

function deltaPollingSuite(dialect: Dialect): void {
  let h: ConnectHarness;
  let receiver: Receiver;
  let hook: { id: string; secret: string };
  let adeleId: string;

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${h.baseUrl}${url}`, {
      method,
      headers: {
        "x-api-key": h.t.apiKey,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const eventFor = (type: string, subject: string) =>
    until(
      `${type} for ${subject}`,
      () => eventsOf(receiver).find((e) => e.body.event === type && e.body.subject === subject),
      20_000,
    );

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness(dialect, {
      seedCorpus: true,
      corpusSize: 30,
      env: { POLL_INTERVAL_SECONDS: "1", GRAPH_SUBSCRIPTIONS: "off", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
    });
    hook = await createEmailWebhook(h, receiver.url);
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("the first sync is a baseline: the mailbox's existing mail is never announced", async () => {
    // Two more poll rounds after the baseline.
    const synced = (await h.services.realtime.status(adeleId))!.last_sync_at!;
    await until(
      "later poll rounds",
      async () => ((await h.services.realtime.status(adeleId))!.last_sync_at ?? 0) > synced + 1500,
      10_000,
    );
    assert.deepEqual(eventsOf(receiver), []);
  });

  it("mail from outside becomes one mail_received whose payload is the email API's email in Unipile's webhook shape, signed", async () => {
    await deliverMail(h.sandbox.url, "Quarterly numbers");
    const event = await eventFor("mail_received", "Quarterly numbers");
    assert.ok(
      verifySignature(
        hook.secret,
        event.raw.body,
        String(event.raw.headers["x-mailroom-signature"]),
        Math.floor(Date.now() / 1000),
      ),
    );
    const email = (await api("GET", `/api/v1/emails/${event.body.email_id}`)).json;
    assert.deepEqual(Object.keys(event.body), [
      "email_id",
      "account_id",
      "event",
      "webhook_name",
      "date",
      "from_attendee",
      "to_attendees",
      "bcc_attendees",
      "cc_attendees",
      "reply_to_attendees",
      "provider_id",
      "message_id",
      "has_attachments",
      "subject",
      "body",
      "body_plain",
      "attachments",
      "folders",
      "role",
      "read_date",
      "is_complete",
      "origin",
      "thread_id",
    ]);
    assert.deepEqual(event.body, {
      email_id: email.id,
      account_id: adeleId,
      event: "mail_received",
      webhook_name: "realtime",
      date: email.date,
      from_attendee: {
        display_name: "Ada Lovelace",
        identifier: "ada@fabrikam.example",
        identifier_type: "EMAIL_ADDRESS",
      },
      to_attendees: email.to_attendees,
      bcc_attendees: [],
      cc_attendees: [],
      reply_to_attendees: [],
      provider_id: email.provider_id,
      message_id: email.message_id,
      has_attachments: false,
      subject: "Quarterly numbers",
      body: email.body,
      body_plain: email.body_plain,
      attachments: [],
      folders: ["Inbox"],
      role: "inbox",
      read_date: null,
      is_complete: true,
      origin: "external",
      thread_id: email.thread_id,
    });
    assert.match(String(event.body.body_plain), /Hello about Quarterly numbers/);
    assert.match(event.id, /^mr_mail_received_/);
  });

  it("moving an email announces mail_moved with its new folder, and marking it read announces nothing", async () => {
    await deliverMail(h.sandbox.url, "Move me");
    const received = await eventFor("mail_received", "Move me");
    const emailId = String(received.body.email_id);
    assert.equal((await api("PUT", `/api/v1/emails/${emailId}`, { unread: false })).status, 200);
    assert.equal((await api("PUT", `/api/v1/emails/${emailId}`, { folders: ["Archive"] })).status, 200);
    const moved = await eventFor("mail_moved", "Move me");
    assert.equal(moved.body.email_id, emailId, "immutable ids: the email keeps its id across the move");
    assert.equal(moved.body.role, "archive");
    assert.deepEqual(moved.body.folders, ["Archive"]);
    assert.notEqual(moved.id, received.id);
    // A later round sees nothing new for it.
    const synced = (await h.services.realtime.status(adeleId))!.last_sync_at!;
    await until(
      "two more poll rounds",
      async () => ((await h.services.realtime.status(adeleId))!.last_sync_at ?? 0) > synced + 1500,
      10_000,
    );
    assert.equal(eventsOf(receiver).filter((e) => e.body.subject === "Move me").length, 2);
  });

  it("mail sent from the mailbox outside Mailroom (as from Outlook) is announced once as mail_sent with origin external", async () => {
    await h.services.realtime.d.graph.json(adeleId, {
      method: "POST",
      path: "/me/sendMail",
      body: {
        message: {
          subject: "Sent from Outlook",
          body: { contentType: "Text", content: "hi" },
          toRecipients: [{ emailAddress: { address: "someone@fabrikam.example" } }],
        },
        saveToSentItems: true,
      },
    });
    const sent = await eventFor("mail_sent", "Sent from Outlook");
    assert.equal(sent.body.role, "sent");
    assert.equal(sent.body.origin, "external");
    assert.equal(
      eventsOf(receiver).filter((e) => e.body.subject === "Sent from Outlook").length,
      1,
      "no mail_received for the Sent Items copy",
    );
  });

  it("a draft that is sent becomes one mail_sent (the draft itself is never announced)", async () => {
    const draft = await h.services.realtime.d.graph.json<{ id: string }>(adeleId, {
      method: "POST",
      path: "/me/messages",
      body: {
        subject: "Drafted then sent",
        body: { contentType: "Text", content: "draft" },
        toRecipients: [{ emailAddress: { address: "someone@fabrikam.example" } }],
      },
    });
    // Let a poll round see the draft in Drafts first.
    const synced = (await h.services.realtime.status(adeleId))!.last_sync_at!;
    await until(
      "a poll round with the draft",
      async () => ((await h.services.realtime.status(adeleId))!.last_sync_at ?? 0) > synced + 1000,
      10_000,
    );
    await h.services.realtime.d.graph.json(adeleId, {
      method: "POST",
      path: `/me/messages/${draft.id}/send`,
    });
    const sent = await eventFor("mail_sent", "Drafted then sent");
    assert.equal(sent.body.role, "sent");
    assert.equal(eventsOf(receiver).filter((e) => e.body.subject === "Drafted then sent").length, 1);
  });

  it("mail that arrives while Mailroom is stopped is announced once after the restart (stored delta links)", async () => {
    await h.services.jobs.stop();
    await deliverMail(h.sandbox.url, "While you were out 1");
    await deliverMail(h.sandbox.url, "While you were out 2");
    const restarted = await buildServices(h.t.config, createLogger({ level: "silent" }), {
      jobs: { pollIntervalMs: 20 },
    });
    try {
      await restarted.jobs.start();
      await restarted.realtime.startAll();
      for (const subject of ["While you were out 1", "While you were out 2"])
        await eventFor("mail_received", subject);
      const synced = (await restarted.realtime.status(adeleId))!.last_sync_at!;
      await until(
        "two more poll rounds",
        async () => ((await restarted.realtime.status(adeleId))!.last_sync_at ?? 0) > synced + 1500,
        10_000,
      );
      const out = eventsOf(receiver).filter((e) => String(e.body.subject).startsWith("While you were out"));
      assert.equal(out.length, 2, "each announced exactly once");
    } finally {
      await restarted.close();
    }
  });
}
