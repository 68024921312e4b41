// Retention (docs/adr/0006-retention.md): housekeeping deletes, in small batches, what is past its
// window and keeps what is inside it or still in use, on SQLite and PostgreSQL, with a test clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { loadConfig } from "../src/config/config.ts";
import { HousekeepingService } from "../src/domain/housekeeping/housekeeping.service.ts";
import type { RetentionPolicy } from "../src/domain/housekeeping/retention.ts";
import "../src/domain/housekeeping/housekeeping.job.ts";
import { EmbeddedJobRunner } from "../src/jobs/embedded-runner.ts";
import { createJobRegistry } from "../src/jobs/queue.ts";
import { TestClock } from "../src/lib/clock.ts";
import type { Storage } from "../src/storage/db.ts";
import { HousekeepingRepository } from "../src/storage/repositories/housekeeping.repository.ts";
import { JobRepository } from "../src/storage/repositories/job.repository.ts";
import type { Database } from "../src/storage/schema.ts";
import { createTestStorage, dialects } from "./support/databases.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 1);
const quiet = { info() {}, debug() {}, warn() {}, error() {} };
const RETENTION: RetentionPolicy = loadConfig({}, "/srv").retention;

for (const dialect of dialects()) {
  describe(`housekeeping on ${dialect}`, () => {
    let storage: Storage;
    let dispose: () => Promise<void>;
    const clock = new TestClock(NOW);
    let jobs: JobRepository;
    const batches: string[] = [];
    const service = (batchSize = 500) =>
      new HousekeepingService({
        repo: new HousekeepingRepository(storage.db),
        jobs,
        retention: RETENTION,
        clock,
        log: quiet,
        batchSize,
        onBatch: (step) => batches.push(step),
      });

    before(async () => {
      ({ storage, dispose } = await createTestStorage(dialect));
      jobs = new JobRepository(storage.db, storage.dialect);
    });
    after(() => dispose());

    const ids = async (table: keyof Database, key: string) =>
      (
        (await sql`select ${sql.ref(key)} as k from ${sql.table(table)}`.execute(storage.db)).rows as {
          k: string;
        }[]
      )
        .map((r) => r.k)
        .sort();

    it("finished jobs go after their window (done 24 h, dead 14 days); queued and running ones stay", async () => {
      const job = (id: string, status: "queued" | "running" | "done" | "dead", finishedAgo: number | null) =>
        jobs.insert({
          id,
          kind: "test.kind",
          payload: "{}",
          idempotency_key: `key:${id}`,
          status,
          run_at: NOW - 30 * DAY,
          attempts: 1,
          max_attempts: 5,
          locked_by: null,
          locked_until: null,
          exclusive_key: null,
          claims: 0,
          last_error: null,
          created_at: NOW - 30 * DAY,
          updated_at: NOW - 30 * DAY,
          finished_at: finishedAgo === null ? null : NOW - finishedAgo,
        });
      await job("done-old", "done", 25 * HOUR);
      await job("done-new", "done", 23 * HOUR);
      await job("dead-old", "dead", 15 * DAY);
      await job("dead-new", "dead", 13 * DAY);
      await job("queued-old", "queued", null);
      await job("running-old", "running", null);
      const report = await service().run();
      assert.equal(report.deleted.jobs, 2);
      assert.deepEqual(await ids("jobs", "id"), ["dead-new", "done-new", "queued-old", "running-old"]);
    });

    it("an idempotency key deduplicates while its job is kept; once purged (past its window) it is free", async () => {
      const runner = new EmbeddedJobRunner({
        repository: jobs,
        registry: createJobRegistry(),
        log: quiet,
        clock,
      });
      const again = await runner.enqueue("housekeeping.run", {}, { idempotencyKey: "key:done-new" });
      assert.deepEqual(again, { id: "done-new", created: false });
      const purged = await runner.enqueue("housekeeping.run", {}, { idempotencyKey: "key:done-old" });
      assert.equal(purged.created, true);
    });

    it("webhook deliveries go once final and past 30 days; a delivery still retrying is never purged, nor its event", async () => {
      const event = (id: string, ago: number) =>
        storage.db
          .insertInto("webhook_events")
          .values({
            id,
            type: "mail_received",
            source: "email",
            account_id: "a",
            payload: "{}",
            created_at: NOW - ago,
          })
          .execute();
      const delivery = (
        id: string,
        eventId: string,
        status: "pending" | "delivered" | "failed",
        ago: number,
      ) =>
        storage.db
          .insertInto("webhook_deliveries")
          .values({
            id,
            webhook_id: "w1",
            event_id: eventId,
            status,
            attempts: 3,
            round: 0,
            last_status_code: null,
            last_error: null,
            last_response_excerpt: null,
            next_attempt_at: status === "pending" ? NOW + HOUR : null,
            delivered_at: null,
            created_at: NOW - ago,
            updated_at: NOW - ago,
          })
          .execute();
      await event("ev-old-delivered", 40 * DAY);
      await delivery("d-old-delivered", "ev-old-delivered", "delivered", 40 * DAY);
      await event("ev-old-failed", 40 * DAY);
      await delivery("d-old-failed", "ev-old-failed", "failed", 31 * DAY);
      await event("ev-old-retrying", 60 * DAY);
      await delivery("d-old-retrying", "ev-old-retrying", "pending", 60 * DAY);
      await event("ev-old-none", 31 * DAY);
      await event("ev-new", 29 * DAY);
      await delivery("d-new", "ev-new", "delivered", 29 * DAY);
      await event("ev-old-recent-delivery", 40 * DAY);
      await delivery("d-replayed", "ev-old-recent-delivery", "delivered", 2 * DAY);
      const report = await service().run();
      assert.equal(report.deleted.webhook_deliveries, 2);
      assert.equal(report.deleted.webhook_events, 3);
      assert.deepEqual(await ids("webhook_deliveries", "id"), ["d-new", "d-old-retrying", "d-replayed"]);
      assert.deepEqual(await ids("webhook_events", "id"), [
        "ev-new",
        "ev-old-recent-delivery",
        "ev-old-retrying",
      ]);
    });

    it("hosted links go 30 days after expiry unless their notify_url callback still retries; final callbacks after 30 days", async () => {
      const link = (id: string, expiredAgo: number) =>
        storage.db
          .insertInto("hosted_links")
          .values({
            id,
            token_hash: `hash-${id}`,
            type: "create",
            reconnect_account_id: null,
            name: null,
            notify_url: "https://example.com/notify",
            success_redirect_url: null,
            failure_redirect_url: null,
            bypass_success_screen: 0,
            expires_at: NOW - expiredAgo,
            used_at: null,
            account_id: null,
            created_at: NOW - expiredAgo - DAY,
          })
          .execute();
      const notify = (linkId: string, status: "pending" | "delivered" | "failed", ago: number) =>
        storage.db
          .insertInto("notify_deliveries")
          .values({
            link_id: linkId,
            status,
            attempts: 1,
            last_status_code: null,
            last_error: null,
            last_response_excerpt: null,
            next_attempt_at: null,
            delivered_at: null,
            created_at: NOW - ago,
            updated_at: NOW - ago,
          })
          .execute();
      await link("l-old", 31 * DAY);
      await notify("l-old", "delivered", 40 * DAY);
      await link("l-retrying", 31 * DAY);
      await notify("l-retrying", "pending", 40 * DAY);
      await link("l-recent", 29 * DAY);
      await link("l-open", -DAY);
      await storage.db
        .insertInto("auth_attempts")
        .values([
          {
            id: "at-expired",
            state_hash: "s1",
            link_id: "l-open",
            nonce: "n",
            code_verifier: "v",
            redirect_uri: "r",
            created_at: NOW - HOUR,
            expires_at: NOW - 1,
            completed_at: null,
          },
          {
            id: "at-live",
            state_hash: "s2",
            link_id: "l-open",
            nonce: "n",
            code_verifier: "v",
            redirect_uri: "r",
            created_at: NOW,
            expires_at: NOW + 600_000,
            completed_at: null,
          },
        ])
        .execute();
      const report = await service().run();
      assert.equal(report.deleted.hosted_links, 1);
      assert.deepEqual(await ids("hosted_links", "id"), ["l-open", "l-recent", "l-retrying"]);
      assert.deepEqual(await ids("notify_deliveries", "link_id"), ["l-retrying"]);
      assert.deepEqual(await ids("auth_attempts", "id"), ["at-live"]);
    });

    it("expired dashboard sessions, old used or expired invite links, old sent-mail rows and account events go; live ones stay", async () => {
      await storage.db
        .insertInto("admin_sessions")
        .values([
          {
            id: "s-expired",
            token_hash: "h1",
            admin_id: "a",
            created_at: NOW - DAY,
            last_seen_at: NOW - DAY,
            expires_at: NOW - 1,
          },
          {
            id: "s-live",
            token_hash: "h2",
            admin_id: "a",
            created_at: NOW - DAY,
            last_seen_at: NOW,
            expires_at: NOW + DAY,
          },
        ])
        .execute();
      const invite = (id: string, usedAgo: number | null, expiresIn: number | null) => ({
        id,
        token_hash: `t-${id}`,
        kind: "invite" as const,
        email: null,
        created_by: null,
        created_at: NOW - 60 * DAY,
        expires_at: expiresIn === null ? null : NOW + expiresIn,
        used_at: usedAgo === null ? null : NOW - usedAgo,
      });
      await storage.db
        .insertInto("admin_invites")
        .values([
          invite("i-used-old", 31 * DAY, null),
          invite("i-used-new", DAY, null),
          invite("i-expired-old", null, -31 * DAY),
          invite("i-open", null, 3 * DAY),
        ])
        .execute();
      await storage.db
        .insertInto("sent_messages")
        .values([
          { account_id: "a", message_key: "k-old", tracking_id: "t1", sent_at: NOW - 31 * DAY },
          { account_id: "a", message_key: "k-new", tracking_id: "t2", sent_at: NOW - 29 * DAY },
        ])
        .execute();
      const accountEvent = (id: string, ago: number) => ({
        id,
        account_id: "a",
        type: "CREATION_SUCCESS",
        payload: "{}",
        created_at: NOW - ago,
      });
      await storage.db
        .insertInto("account_events")
        .values([accountEvent("e-old", 31 * DAY), accountEvent("e-new", 29 * DAY)])
        .execute();
      await service().run();
      assert.deepEqual(await ids("account_events", "id"), ["e-new"]);
      assert.deepEqual(await ids("admin_sessions", "id"), ["s-live"]);
      assert.deepEqual(await ids("admin_invites", "id"), ["i-open", "i-used-new"]);
      assert.deepEqual(await ids("sent_messages", "message_key"), ["k-new"]);
    });

    it("the realtime index keeps mail received within its window, and gone rows for 7 days", async () => {
      const row = (key: string, receivedAgo: number, goneAgo: number | null) => ({
        account_id: "a",
        message_key: key,
        folder_id: "inbox",
        moves: 0,
        gone_at: goneAgo === null ? null : NOW - goneAgo,
        received_at: NOW - receivedAgo,
        updated_at: NOW,
      });
      await storage.db
        .insertInto("realtime_messages")
        .values([
          row("m-old", 31 * DAY, null),
          row("m-new", 29 * DAY, null),
          row("m-gone-old", DAY, 8 * DAY),
          row("m-gone-new", DAY, 6 * DAY),
        ])
        .execute();
      await service().run();
      assert.deepEqual(await ids("realtime_messages", "message_key"), ["m-gone-new", "m-new"]);
    });

    it("deletes in batches of the given size until nothing past retention is left", async () => {
      await storage.db
        .insertInto("sent_messages")
        .values(
          Array.from({ length: 7 }, (_, i) => ({
            account_id: "b",
            message_key: `bulk-${i}`,
            tracking_id: "t",
            sent_at: NOW - 40 * DAY,
          })),
        )
        .execute();
      batches.length = 0;
      const report = await service(3).run();
      assert.equal(report.deleted.sent_messages, 7);
      assert.deepEqual(
        batches.filter((s) => s === "sent_messages"),
        ["sent_messages", "sent_messages", "sent_messages"],
        "3 + 3 + 1",
      );
      assert.equal(report.complete, true);
      const rerun = await service().run();
      assert.equal(
        Object.values(rerun.deleted).reduce((a, b) => a + b, 0),
        0,
        "a second pass finds nothing",
      );
    });

    it("an aborted pass stops between batches and says so", async () => {
      const controller = new AbortController();
      controller.abort();
      const report = await service().run(controller.signal);
      assert.equal(report.complete, false);
    });
  });
}
