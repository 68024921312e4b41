// When polls fall behind, the watchdog stretches every account's interval (and says so once), and
// steps back once polling has caught up; the lag is in /metrics. On a test clock, with 200 accounts
// whose last completed poll is set directly.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../src/lib/ids.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { TestClock } from "./support/clock.ts";

const ACCOUNTS = 200;

describe("realtime: stretching poll intervals", () => {
  let t: TestApp;
  const clock = new TestClock(Date.UTC(2026, 5, 1, 12));
  const ids = Array.from({ length: ACCOUNTS }, () => newId());
  before(async () => {
    t = await createTestApp("sqlite", { POLL_INTERVAL_SECONDS: "30", GRAPH_SUBSCRIPTIONS: "off" }, { clock });
    const now = clock.now();
    for (const [i, id] of ids.entries()) {
      await t.services.repos.accounts.insert({
        id,
        type: "OUTLOOK",
        name: `fleet${i}@contoso.example`,
        email: `fleet${i}@contoso.example`,
        provider_user_id: `oid-${id}`,
        tenant_id: "tenant",
        status: "OK",
        status_reason: null,
        access_token: null,
        refresh_token: null,
        access_token_expires_at: null,
        scopes: null,
        created_at: now,
        updated_at: now,
      });
      await t.services.realtime.d.repo.ensureAccount(id, now);
    }
  });
  after(async () => {
    await t.dispose();
  });

  /** Every account's last completed poll was `lagS` seconds ago (one account `maxS` ago). */
  const lastPolled = async (lagS: number, maxS = lagS) => {
    const now = clock.now();
    await t.services.storage.db
      .updateTable("realtime_accounts")
      .set({ last_sync_at: now - lagS * 1000 })
      .execute();
    await t.services.storage.db
      .updateTable("realtime_accounts")
      .set({ last_sync_at: now - maxS * 1000 })
      .where("account_id", "=", ids[0]!)
      .execute();
  };
  const intervalOf = async (id: string) =>
    (await t.services.repos.jobs.schedules.findByName(`realtime.poll:${id}`))?.every_ms;
  const warnings = () => t.logs.lines.filter((line) => line.includes("poll interval")).length;

  it("keeping up: nothing stretched, the lag in /metrics", async () => {
    await lastPolled(20, 45);
    await t.services.realtime.watchdog();
    assert.equal(await intervalOf(ids[5]!), 30_000);
    assert.equal(warnings(), 0);
    const metrics = await t.app.inject({ method: "GET", url: "/metrics" });
    assert.match(metrics.body, /^mailroom_polling_lag_seconds\{stat="max"\} 45$/m);
    assert.match(metrics.body, /^mailroom_polling_lag_seconds\{stat="p99"\} 20$/m);
    assert.match(metrics.body, /^mailroom_polling_interval_stretch 1$/m);
  });

  it("more than one interval behind: every interval doubles, logged once; then back when caught up", async () => {
    await lastPolled(100);
    await t.services.realtime.watchdog();
    assert.equal(await intervalOf(ids[5]!), 60_000);
    assert.equal(await intervalOf(ids[150]!), 60_000);
    assert.equal(warnings(), 1, "one warning for the change");
    await t.services.realtime.watchdog();
    assert.equal(warnings(), 1, "no warning while the factor stays");
    assert.equal((await t.services.realtime.pollingStatus()).stretch, 2);

    await lastPolled(40);
    await t.services.realtime.watchdog();
    assert.equal(await intervalOf(ids[5]!), 45_000, "a quarter less");
    await lastPolled(20);
    await t.services.realtime.watchdog();
    assert.equal(await intervalOf(ids[5]!), 30_000, "back to the configured interval");
    assert.equal(warnings(), 3);
    assert.match(t.logs.text, /Polling has caught up/);
  });
});
