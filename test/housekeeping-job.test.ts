// Housekeeping as it runs: every statement of a pass goes through an index (SQLite plans), and in a
// started Mailroom it runs as a recurring job that reports in /metrics and the log.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { loadConfig } from "../src/config/config.ts";
import { HousekeepingService } from "../src/domain/housekeeping/housekeeping.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import { HousekeepingRepository } from "../src/storage/repositories/housekeeping.repository.ts";
import { JobRepository } from "../src/storage/repositories/job.repository.ts";
import type { Database } from "../src/storage/schema.ts";
import { createTestApp } from "./support/app.ts";
import { createTestStorage } from "./support/databases.ts";
import { until } from "./support/until.ts";

const DAY = 24 * 3_600_000;
const NOW = Date.UTC(2026, 5, 1);
const quiet = { info() {}, debug() {}, warn() {}, error() {} };
const RETENTION = loadConfig({}, "/srv").retention;

describe("housekeeping statements on SQLite", () => {
  it("every statement of a pass finds its rows through an index, never by reading a whole table", async () => {
    const { database, dispose } = await createTestStorage("sqlite");
    const raw = new SQLite(database.sqlitePath!);
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: raw }),
      log: (event) => {
        if (event.level === "query") captured.push(event.query);
      },
    });
    try {
      await new HousekeepingService({
        repo: new HousekeepingRepository(db),
        jobs: new JobRepository(db, "sqlite"),
        retention: RETENTION,
        clock: new TestClock(NOW),
        log: quiet,
      }).run();
      assert.ok(captured.length >= 11, `statements: ${captured.length}`);
      for (const query of captured) {
        const plan = (
          raw.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[])) as {
            detail: string;
          }[]
        ).map((r) => r.detail);
        assert.ok(!plan.some((d) => /^SCAN \w+$/.test(d)), `${query.sql}\n  ${plan.join("\n  ")}`);
      }
    } finally {
      await db.destroy();
      await dispose();
    }
  });
});

describe("housekeeping in a running Mailroom", () => {
  it("runs as a recurring job and reports its rows in /metrics and the log", async () => {
    const t = await createTestApp(
      "sqlite",
      { HOUSEKEEPING_INTERVAL_MINUTES: "1" },
      { jobs: { pollIntervalMs: 50 } },
    );
    try {
      const now = Date.now();
      await t.services.repos.jobs.insert({
        id: "finished-long-ago",
        kind: "test.kind",
        payload: "{}",
        idempotency_key: null,
        status: "done",
        run_at: now - 3 * DAY,
        attempts: 1,
        max_attempts: 5,
        locked_by: null,
        locked_until: null,
        exclusive_key: null,
        claims: 1,
        last_error: null,
        created_at: now - 3 * DAY,
        updated_at: now - 2 * DAY,
        finished_at: now - 2 * DAY,
      });
      await t.services.start();
      await until(
        "housekeeping removed the old job",
        async () => (await t.services.repos.jobs.findById("finished-long-ago")) === undefined,
        15_000,
      );
      await until("the pass is logged", () => t.logs.text.includes("Housekeeping done"), 5_000);
      const metrics = (await t.app.inject({ url: "/metrics" })).body;
      assert.match(metrics, /mailroom_housekeeping_deleted_rows_total\{step="jobs"\} 1/);
      assert.match(metrics, /mailroom_housekeeping_last_run_timestamp_seconds\{outcome="complete"\} \d/);
    } finally {
      await t.dispose();
    }
  });
});
