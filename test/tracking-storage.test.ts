// Tracking's storage on every dialect: a flush stores the events, the sends' counts and their webhook
// events in one transaction; hits of unknown sends are dropped; retention removes old tracking rows.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestClock } from "../src/lib/clock.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { dialects } from "./support/databases.ts";

const DAY = 86_400_000;
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const INPUT = {
  account_id: "acc-1",
  to: [{ identifier: "reader@example.com" }],
  subject: "Hello",
  body: '<p><a href="https://example.com/a">a</a></p>',
  tracking: { opens: true, links: true, label: "l1" },
};

for (const dialect of dialects())
  describe(`tracking storage (${dialect})`, () => {
    let t: TestApp;
    const clock = new TestClock(Date.UTC(2026, 5, 1));

    before(async () => {
      t = await createTestApp(dialect, {}, { clock });
      await t.services.webhooks.create({
        requestUrl: "https://receiver.example.com/hook",
        source: "email_tracking",
      });
    });
    after(async () => {
      await t.dispose();
    });

    const tokensOf = (html: string) => ({
      open: /\/t\/o\/([^".]+\.[^".]+)\.gif/.exec(html)![1]!,
      click: /\/t\/c\/([^"]+)"/.exec(html)![1]!,
    });

    it("a flush stores each hit with its counts and one webhook event and delivery, in one transaction", async () => {
      const prepared = await t.services.tracking.prepare(INPUT, "tid-aaaaaaaaaaaaaaaaaaaa");
      await t.services.tracking.remember({
        trackingId: "tid-aaaaaaaaaaaaaaaaaaaa",
        accountId: "acc-1",
        emailId: "acc-1.mail-1",
        input: INPUT,
      });
      const tokens = tokensOf(prepared.body);
      clock.advance(60_000);
      t.services.tracking.open(tokens.open, { ip: "203.0.113.1", userAgent: BROWSER });
      clock.advance(60_000);
      assert.equal(
        await t.services.tracking.click(tokens.click, { ip: "203.0.113.1", userAgent: BROWSER }),
        "https://example.com/a",
      );
      t.services.tracking.open("forged.token", { ip: "x", userAgent: BROWSER });
      await t.services.tracking.recorder.flush();
      const db = t.services.storage.db;
      const events = await db.selectFrom("tracking_events").selectAll().orderBy("occurred_at").execute();
      assert.deepEqual(
        events.map((e) => [e.type, e.url, e.is_prefetch]),
        [
          ["mail_opened", null, 0],
          ["mail_link_clicked", "https://example.com/a", 0],
        ],
      );
      const email = await db.selectFrom("tracked_emails").selectAll().executeTakeFirstOrThrow();
      assert.equal(email.open_count, 1);
      assert.equal(email.click_count, 1);
      assert.equal(email.first_open_at, Date.UTC(2026, 5, 1) + 60_000);
      const published = await db
        .selectFrom("webhook_events")
        .select(["id", "type", "source"])
        .where("source", "=", "email_tracking")
        .execute();
      assert.deepEqual(published.map((e) => e.id).sort(), events.map((e) => e.id).sort());
      const deliveries = await db
        .selectFrom("webhook_deliveries")
        .select("event_id")
        .where(
          "event_id",
          "in",
          events.map((e) => e.id),
        )
        .execute();
      assert.equal(deliveries.length, 2);
      const views = await t.services.tracking.recentOfAccount("acc-1");
      assert.equal(views.length, 1);
      assert.equal(views[0]!.events.length, 2);
    });

    it("hits of a send Mailroom does not know are dropped at flush", async () => {
      const prepared = await t.services.tracking.prepare(INPUT, "tid-unknownaaaaaaaaaaa");
      t.services.tracking.open(tokensOf(prepared.body).open, { ip: "1", userAgent: BROWSER });
      await t.services.tracking.recorder.flush();
      const rows = await t.services.storage.db
        .selectFrom("tracking_events")
        .select("id")
        .where("tracking_id", "=", "tid-unknownaaaaaaaaaaa")
        .execute();
      assert.equal(rows.length, 0);
    });

    it("housekeeping removes tracked sends and their events after TRACKING_RETENTION_DAYS (90)", async () => {
      clock.advance(89 * DAY);
      let report = await t.services.housekeeping.run();
      assert.equal(report.deleted.tracking_events, 0);
      assert.equal(report.deleted.tracked_emails, 0);
      clock.advance(2 * DAY);
      report = await t.services.housekeeping.run();
      assert.equal(report.deleted.tracking_events, 2);
      assert.equal(report.deleted.tracked_emails, 1);
    });
  });
