// The SQLite file stops growing once retention is reached (docs/adr/0006-retention.md): under a steady
// load of jobs, webhook events and deliveries, housekeeping frees as many pages as each period fills,
// and SQLite reuses its free pages, so the file plateaus at the size of one retention window of data.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import { loadConfig } from "../src/config/config.ts";
import { HousekeepingService } from "../src/domain/housekeeping/housekeeping.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import type { Storage } from "../src/storage/db.ts";
import { HousekeepingRepository } from "../src/storage/repositories/housekeeping.repository.ts";
import { JobRepository } from "../src/storage/repositories/job.repository.ts";
import { createTestStorage, type TestDatabase } from "./support/databases.ts";

const HOUR = 3_600_000;
const PER_PERIOD = 1_500;
const PERIODS = 14;
const PAYLOAD = JSON.stringify({ accountId: "x".repeat(40), note: "y".repeat(200) });

describe("housekeeping: SQLite file size under a steady load", () => {
  let storage: Storage;
  let database: TestDatabase;
  let dispose: () => Promise<void>;
  before(async () => {
    ({ storage, database, dispose } = await createTestStorage("sqlite"));
  });
  after(() => dispose());

  it("the file plateaus once the load runs past retention (free pages are reused, no VACUUM needed)", async () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    // Windows shrunk to hours so a few periods cover several retention windows.
    const retention = {
      ...loadConfig({}, "/srv").retention,
      jobs: { doneMs: 4 * HOUR, deadMs: 4 * HOUR },
      webhooksMs: 4 * HOUR,
    };
    const housekeeping = new HousekeepingService({
      repo: new HousekeepingRepository(storage.db),
      jobs: new JobRepository(storage.db, "sqlite"),
      retention,
      clock,
      log: { info() {}, debug() {} },
    });
    const sizes: number[] = [];
    let seq = 0;
    for (let period = 0; period < PERIODS; period++) {
      const now = clock.now();
      for (let i = 0; i < PER_PERIOD; i += 250) {
        const rows = Array.from({ length: 250 }, () => `${period}-${seq++}`);
        await storage.db
          .insertInto("jobs")
          .values(
            rows.map((id) => ({
              id,
              kind: "webhooks.deliver",
              payload: PAYLOAD,
              idempotency_key: `webhook:${id}`,
              status: "done" as const,
              run_at: now,
              attempts: 1,
              max_attempts: 5,
              locked_by: null,
              locked_until: null,
              exclusive_key: null,
              claims: 0,
              last_error: null,
              created_at: now,
              updated_at: now,
              finished_at: now,
            })),
          )
          .execute();
        await storage.db
          .insertInto("webhook_events")
          .values(
            rows.map((id) => ({
              id,
              type: "mail_received",
              source: "email" as const,
              account_id: "acc",
              payload: PAYLOAD,
              created_at: now,
            })),
          )
          .execute();
        await storage.db
          .insertInto("webhook_deliveries")
          .values(
            rows.map((id) => ({
              id,
              webhook_id: "w",
              event_id: id,
              status: "delivered" as const,
              attempts: 1,
              round: 0,
              last_status_code: 200,
              last_error: null,
              last_response_excerpt: "ok",
              next_attempt_at: null,
              delivered_at: now,
              created_at: now,
              updated_at: now,
            })),
          )
          .execute();
      }
      clock.advance(HOUR);
      await housekeeping.run();
      // What a restart or the periodic checkpoint does: the WAL's pages go back into the main file.
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(storage.db);
      sizes.push(statSync(database.sqlitePath!).size);
    }
    const rows = await storage.db
      .selectFrom("jobs")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    // Retention is 4 h of 1 h periods: at most 5 periods of rows are alive at once.
    assert.ok(Number(rows.n) <= 5 * PER_PERIOD, `rows kept: ${rows.n}`);
    const warm = sizes[5]!;
    const last = sizes.at(-1)!;
    assert.ok(sizes[0]! < warm, `the file grows until retention is reached: ${sizes.join(", ")}`);
    assert.ok(
      last <= warm * 1.1,
      `the file stops growing after retention: ${sizes.map((s) => Math.round(s / 1024)).join(", ")} KiB`,
    );
  });
});
