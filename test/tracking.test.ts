// Email tracking end to end with the sandbox: a tracked send through the SDK (strict), its pixel and
// links fetched as a mail client would, and the events delivered to an email_tracking webhook through
// the outbox; forged tokens, the pixel's sameness, the per-mail cap and plain-text sends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { verifySignature } from "../src/outbound/signing.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PER_MINUTE = 5;

type Sent = { object: string; tracking_id: string; id: string; tracking?: Record<string, unknown> };

describe("email tracking", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let adeleId: string;
  let secret: string;

  const trackedUrls = async (emailId: string) => {
    const email = (await until("the sent copy", async () => {
      const e = (await client.email.getOne(emailId)) as unknown as { role: string; body: string };
      return e.role === "sent" ? e : undefined;
    })) as { body: string };
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(email.body)?.[1];
    const links = [...email.body.matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((m) => m[1]!);
    return { body: email.body, pixel, links };
  };
  const eventsOf = async (trackingId: string) =>
    h.services.storage.db
      .selectFrom("tracking_events")
      .selectAll()
      .where("tracking_id", "=", trackingId)
      .execute();
  const send = (body: string, tracking_options: Record<string, unknown>, subject = "Tracked") =>
    client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject,
      body,
      tracking_options,
    } as Parameters<UnipileClient["email"]["send"]>[0]) as unknown as Promise<Sent>;

  before(async () => {
    h = await startConnectHarness("sqlite", {
      env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on", TRACKING_EVENTS_PER_MINUTE: String(PER_MINUTE) },
    });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
    receiver = await startReceiver();
    const created = (await client.webhook.create({
      request_url: receiver.url,
      source: "email_tracking",
      name: "tracker",
      events: ["mail_opened", "mail_link_clicked"],
    })) as unknown as { object: string; webhook_id: string; secret: string };
    assert.equal(created.object, "WebhookCreated");
    secret = created.secret;
    // The list, validated strictly by the SDK, carries the tracking webhook's events as the SDK knows them.
    const list = (await client.webhook.getAll()) as unknown as { items: { id: string; events?: string[] }[] };
    assert.deepEqual(list.items.find((w) => w.id === created.webhook_id)?.events, [
      "mail_opened",
      "mail_link_clicked",
    ]);
  });
  after(async () => {
    await receiver?.close();
    await h?.dispose();
  });

  it("an HTML send with tracking_options answers tracking, and its pixel and link reach the email_tracking webhook with the documented keys", async () => {
    const sent = await send(
      '<html><body><p>Read <a href="https://example.com/report?q=1&amp;r=2">the report</a> or <a href="mailto:x@example.com">write</a>.</p></body></html>',
      { opens: true, links: true, label: "q3-campaign" },
    );
    assert.deepEqual(sent.tracking, { opens: true, links: true, tracked_links: 1 });
    const { pixel, links, body } = await trackedUrls(sent.id);
    assert.ok(pixel?.startsWith(`${h.baseUrl}/t/o/`), body);
    assert.equal(links.length, 1);
    assert.ok(body.includes('href="mailto:x@example.com"'), "mailto links are left alone");

    const open = await fetch(pixel!, { headers: { "user-agent": BROWSER } });
    assert.equal(open.status, 200);
    assert.equal(open.headers.get("content-type"), "image/gif");
    const click = await fetch(links[0]!.replace(/&amp;/g, "&"), {
      redirect: "manual",
      headers: { "user-agent": BROWSER },
    });
    assert.equal(click.status, 302);
    assert.equal(click.headers.get("location"), "https://example.com/report?q=1&r=2");

    await h.services.tracking.recorder.flush();
    const calls = await until("two tracking deliveries", () =>
      receiver.received.length >= 2 ? receiver.received : undefined,
    );
    const bodies = calls.map((c) => JSON.parse(c.body) as Record<string, unknown>);
    for (const call of calls)
      assert.ok(
        verifySignature(secret, call.body, String(call.headers["x-mailroom-signature"]), Date.now() / 1000),
      );
    const opened = bodies.find((b) => b.event === "mail_opened")!;
    const clicked = bodies.find((b) => b.event === "mail_link_clicked")!;
    for (const payload of [opened, clicked]) {
      for (const key of [
        "event",
        "event_id",
        "tracking_id",
        "date",
        "email_id",
        "account_id",
        "ip",
        "user_agent",
        "label",
        "custom_domain",
        "webhook_name",
        "is_prefetch",
      ])
        assert.ok(key in payload, `${key} in ${JSON.stringify(payload)}`);
      assert.equal(payload.tracking_id, sent.tracking_id);
      assert.equal(payload.email_id, sent.id);
      assert.equal(payload.account_id, adeleId);
      assert.equal(payload.label, "q3-campaign");
      assert.equal(payload.custom_domain, null);
      assert.equal(payload.webhook_name, "tracker");
      assert.equal(payload.user_agent, BROWSER);
    }
    assert.equal(clicked.url, "https://example.com/report?q=1&r=2");
    assert.ok(!("url" in opened));
    // Fetched within seconds of the send: flagged as machine-like, and still delivered.
    assert.equal(clicked.is_prefetch, true);
    assert.equal(clicked.prefetch_reason, "soon_after_send");
  });

  it("a forged or altered click token answers 404 and records nothing; the pixel answers the same bytes and headers for any token", async () => {
    const sent = await send('<p><a href="https://example.com/a">a</a></p>', { opens: true, links: true });
    const { pixel, links } = await trackedUrls(sent.id);
    const token = links[0]!.split("/t/c/")[1]!;
    const [payload, mac] = token.split(".") as [string, string];
    const evil = Buffer.from(`1c${sent.tracking_id}\nhttps://evil.example/`).toString("base64url");
    for (const bad of [
      `${evil}.${mac}`,
      `${payload}.${mac.slice(1)}A`,
      `${payload.slice(0, -1)}.${mac}`,
      "nothing",
    ]) {
      const res = await fetch(`${h.baseUrl}/t/c/${bad}`, { redirect: "manual" });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("location"), null);
    }
    const answers = [];
    for (const url of [pixel!, `${h.baseUrl}/t/o/forged.gif`, `${h.baseUrl}/t/o/${payload}.${mac}.gif`]) {
      const res = await fetch(url, { headers: { "user-agent": BROWSER } });
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        if (name !== "date" && name !== "keep-alive") headers[name] = value;
      });
      answers.push({
        status: res.status,
        headers,
        bytes: Buffer.from(await res.arrayBuffer()).toString("hex"),
      });
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
    await h.services.tracking.recorder.flush();
    const events = await eventsOf(sent.tracking_id);
    assert.deepEqual(
      events.map((e) => e.type),
      ["mail_opened"],
      "only the real pixel counted",
    );
  });

  it("many pixel requests from one address are all answered; events are capped per tracked mail and minute; the API is unaffected", async () => {
    const sent = await send("<p>Hello</p>", { opens: true });
    const { pixel } = await trackedUrls(sent.id);
    const path = new URL(pixel!).pathname;
    const answers = await Promise.all(
      Array.from({ length: 2_000 }, () =>
        h.app.inject({ method: "GET", url: path, headers: { "user-agent": BROWSER } }),
      ),
    );
    assert.ok(answers.every((a) => a.statusCode === 200 && a.rawPayload.length === 42));
    const accounts = await client.account.getAll();
    assert.ok((accounts as unknown as { items: unknown[] }).items.length >= 1);
    await h.services.tracking.recorder.flush();
    assert.equal((await eventsOf(sent.tracking_id)).length, PER_MINUTE);
  });

  it("a plain-text body is sent untracked and the answer says so; the tracking_id stays", async () => {
    const sent = await send("Just text, https://example.com/", { opens: true, links: true, label: "x" });
    assert.ok(sent.tracking_id.length > 0);
    assert.deepEqual(sent.tracking, {
      opens: false,
      links: false,
      tracked_links: 0,
      reason: "plain_text_body",
    });
    const row = await h.services.storage.db
      .selectFrom("tracked_emails")
      .selectAll()
      .where("tracking_id", "=", sent.tracking_id)
      .executeTakeFirst();
    assert.equal(row, undefined);
  });

  it("custom_domain puts the tracked URLs under https://{custom_domain}; a malformed one is a 400", async () => {
    const sent = await send('<p><a href="https://example.com/">x</a></p>', {
      opens: true,
      links: true,
      custom_domain: "Track.Example.com",
    });
    const { pixel, links } = await trackedUrls(sent.id);
    assert.ok(pixel?.startsWith("https://track.example.com/t/o/"));
    assert.ok(links[0]?.startsWith("https://track.example.com/t/c/"));
    const res = await fetch(`${h.baseUrl}/api/v1/emails`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        account_id: adeleId,
        to: [{ identifier: MEGAN }],
        body: "<p>x</p>",
        tracking_options: { opens: true, custom_domain: "https://track.example.com/x" },
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { type: string }).type, "errors/invalid_parameters");
  });
});
