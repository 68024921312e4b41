// Scaled mode's start-up refusals, as an operator meets them: SQLite with REDIS_URL, Redis
// unreachable, and one process given a different (or no) encryption key than the others, which
// refuses without writing anything.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { describeMode } from "../src/main/server.ts";
import { runMailroom, type StartedMailroom, startMailroom } from "./support/cli.ts";
import { freePort } from "./support/connect-harness.ts";
import { createTestDatabase, type TestDatabase } from "./support/databases.ts";
import { snapshotDb } from "./support/db-snapshot.ts";
import { cleanRedisPrefix, randomPrefix, SHARED_REDIS_URL } from "./support/fleet.ts";

const NO_STACK = /^\s+at /m;

/**
 * Every table's rows but the job queue's, which the running process's own background work changes
 * (its recurring jobs re-enqueue themselves) while the refused one starts and fails.
 */
async function rowsOutsideJobs(db: Kysely<unknown>): Promise<unknown> {
  const { tables } = await snapshotDb(db, "postgres");
  const { jobs: _jobs, ...rest } = tables;
  return rest;
}

function baseEnv(database: TestDatabase, prefix: string): Record<string, string> {
  return {
    DATA_DIR: mkdtempSync(join(tmpdir(), "mailroom-scaled-")),
    // startMailroom picks a free port; runMailroom never gets to listen.
    SANDBOX: "off",
    MICROSOFT_LOGIN_URL: "http://127.0.0.1:9",
    MICROSOFT_GRAPH_URL: "http://127.0.0.1:9",
    DATABASE_URL: (database.config as { url: string }).url,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_PREFIX: prefix,
    POLL_INTERVAL_SECONDS: "86400",
  };
}

describe("scaled mode start-up", { timeout: 90_000 }, () => {
  let database: TestDatabase;
  const prefix = randomPrefix();
  before(async () => {
    database = await createTestDatabase("postgres");
  });
  after(async () => {
    await database.drop();
    await cleanRedisPrefix(SHARED_REDIS_URL, prefix);
  });

  it("REDIS_URL with SQLite is refused with why: every process must see the same data", async () => {
    const { DATABASE_URL: _, ...env } = baseEnv(database, prefix);
    const result = await runMailroom(["start"], {
      ...env,
      MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Mailroom cannot start/);
    assert.match(
      result.stderr,
      /Scaled mode needs a shared PostgreSQL database: every process must see the same data/,
    );
    assert.doesNotMatch(result.stderr, NO_STACK);
  });

  it("Redis unreachable at start is refused naming REDIS_URL, without a stack trace and before the database is touched", async () => {
    const port = await freePort();
    const result = await runMailroom(["start"], {
      ...baseEnv(database, prefix),
      REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
      MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`Redis at REDIS_URL=redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port} is unreachable`),
    );
    assert.doesNotMatch(result.stderr + result.stdout, /hunter2/);
    assert.doesNotMatch(result.stderr, NO_STACK);
    const client = new pg.Client({ connectionString: (database.config as { url: string }).url });
    await client.connect();
    const { rows } = await client.query(
      "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
    );
    await client.end();
    assert.equal(rows[0].n, 0, "no table was created");
  });

  describe("one process with another key than the others", () => {
    let first: StartedMailroom;
    let db: Kysely<unknown>;
    const key = randomBytes(32).toString("base64");
    before(async () => {
      first = await startMailroom({ env: { ...baseEnv(database, prefix), MAILROOM_ENCRYPTION_KEY: key } });
      db = new Kysely({
        dialect: new PostgresDialect({
          pool: new pg.Pool({ connectionString: (database.config as { url: string }).url, max: 2 }),
        }),
      });
    });
    after(async () => {
      await first.stop();
      await db.destroy();
    });

    it("refuses to start and writes nothing when its key does not open the shared database", async () => {
      const before = await rowsOutsideJobs(db);
      const result = await runMailroom(["start"], {
        ...baseEnv(database, prefix),
        MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /do not open this database.*the one every other process is given.*Nothing was changed/s,
      );
      assert.doesNotMatch(result.stderr, NO_STACK);
      assert.deepEqual(await rowsOutsideJobs(db), before);
      const ready = await fetch(`${first.base}/ready`);
      assert.equal(ready.status, 200, "the process with the right key carries on");
    });

    it("refuses to start without a key, instead of generating its own", async () => {
      const before = await rowsOutsideJobs(db);
      const result = await runMailroom(["start"], baseEnv(database, prefix));
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        /MAILROOM_ENCRYPTION_KEY is not\. Every process must be given the same key/,
      );
      assert.deepEqual(await rowsOutsideJobs(db), before);
    });

    it("a second process with the same key starts beside the first", async () => {
      const second = await startMailroom({
        env: { ...baseEnv(database, prefix), MAILROOM_ENCRYPTION_KEY: key },
      });
      try {
        assert.equal((await fetch(`${second.base}/ready`)).status, 200);
      } finally {
        await second.stop();
      }
    });
  });

  it("the banner names the mode and where the shared state lives, passwords redacted", () => {
    assert.match(
      describeMode({ redis: undefined, storage: { location: "/srv/data/mailroom.db" } } as never),
      /^embedded/,
    );
    const scaled = describeMode({
      redis: { location: "redis://:***@cache:6379/", prefix: "acme" },
      storage: { location: "postgres://app:***@db:5432/mailroom" },
    } as never);
    assert.match(
      scaled,
      /^scaled \(.*PostgreSQL at postgres:\/\/app:\*\*\*@db:5432\/mailroom and Redis at redis:\/\/:\*\*\*@cache:6379\/, key prefix "acme"\)$/,
    );
  });
});
