// Proactive refresh: the sweep finds stale or expiring accounts and enqueues one refresh each (once
// per account per hour), recurs once per 15-minute slot, and the refresh jobs run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../src/lib/ids.ts";
import type { NewAccountRow } from "../src/storage/repositories/account.repository.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { dialects } from "./support/databases.ts";
import { connectNewMailbox } from "./support/token-lifecycle.ts";
import { until } from "./support/until.ts";

const HOUR = 3600_000;
const MINUTE = 60_000;

for (const dialect of dialects()) {
  describe(`token refresh sweep (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect);
    });
    after(async () => {
      await t.dispose();
    });

    async function account(name: string, fields: Partial<NewAccountRow>): Promise<string> {
      const id = newId();
      await t.services.repos.accounts.insert({
        id,
        type: "OUTLOOK",
        name,
        email: `${name}@contoso.com`,
        provider_user_id: id,
        tenant_id: "tenant",
        status: "OK",
        status_reason: null,
        access_token: t.services.secrets.encrypt("at"),
        refresh_token: t.services.secrets.encrypt("rt"),
        access_token_expires_at: Date.now() + HOUR,
        scopes: null,
        created_at: Date.now(),
        updated_at: Date.now(),
        ...fields,
      });
      return id;
    }

    it("enqueues refreshes for stale, expiring and never-refreshed accounts only, once per account per hour", async () => {
      const now = Date.now();
      const stale = await account("stale", { last_refreshed_at: now - 25 * HOUR });
      const expiring = await account("expiring", {
        last_refreshed_at: now - HOUR,
        access_token_expires_at: now + 5 * MINUTE,
      });
      const never = await account("never", { last_refreshed_at: null });
      const fresh = await account("fresh", { last_refreshed_at: now - HOUR });
      const disconnected = await account("disconnected", {
        status: "CREDENTIALS",
        status_reason: "password_changed",
        last_refreshed_at: now - 30 * HOUR,
      });
      const noRefreshToken = await account("no-rt", { refresh_token: null, last_refreshed_at: null });

      const due = await t.services.tokenRefresh.sweep();
      assert.deepEqual(due.sort(), [stale, expiring, never].sort());
      const hour = Math.floor(Date.now() / HOUR);
      const jobIds = new Map<string, string>();
      for (const id of [stale, expiring, never]) {
        const job = await t.services.repos.jobs.findByIdempotencyKey(`token-refresh:${id}:${hour}`);
        assert.equal(job?.kind, "accounts.refresh");
        assert.deepEqual(JSON.parse(job!.payload), { accountId: id });
        jobIds.set(id, job!.id);
      }
      for (const id of [fresh, disconnected, noRefreshToken]) {
        assert.equal(
          await t.services.repos.jobs.findByIdempotencyKey(`token-refresh:${id}:${hour}`),
          undefined,
        );
      }
      const stats = await t.services.jobs.stats();
      await t.services.tokenRefresh.sweep();
      assert.deepEqual(await t.services.jobs.stats(), stats, "a second sweep in the same hour adds no job");
    });

    it("scheduleSweep declares one recurring sweep every 15 minutes, however many processes call it", async () => {
      await t.services.tokenRefresh.scheduleSweep();
      await t.services.tokenRefresh.scheduleSweep();
      const schedules = await t.services.repos.jobs.schedules.list();
      assert.deepEqual(
        schedules.map((s) => ({ name: s.name, kind: s.kind, everyMs: s.every_ms })),
        [{ name: "token-refresh.sweep", kind: "token-refresh.sweep", everyMs: 15 * MINUTE }],
      );
    });
  });
}

describe("proactive refresh end to end", () => {
  let h: ConnectHarness;
  before(async () => {
    h = await startConnectHarness();
  });
  after(async () => {
    await h.dispose();
  });

  it("a started sweep refreshes an account idle for a day through the job runner, and schedules the next slot", async () => {
    const idle = await connectNewMailbox(h, "idle");
    const recent = await connectNewMailbox(h, "recent");
    const now = Date.now();
    await h.services.repos.accounts.update(idle.id, { last_refreshed_at: now - 25 * HOUR });
    await h.services.repos.accounts.update(recent.id, { last_refreshed_at: now - HOUR });
    const before = h.sandbox.state.counters.tokenRefreshes;

    await h.services.tokenRefresh.scheduleSweep();
    const row = await until("the idle account's refresh", async () => {
      const r = await h.services.repos.accounts.findById(idle.id);
      return r && r.last_refreshed_at! > now ? r : undefined;
    });
    assert.equal(row.status, "OK");
    assert.notEqual(row.refresh_token, idle.refresh_token, "the rotated refresh token is stored");
    assert.equal(h.sandbox.state.counters.tokenRefreshes - before, 1, "only the idle account was refreshed");
    assert.equal((await h.services.repos.accounts.findById(recent.id))?.last_refreshed_at, now - HOUR);

    const nextSlot = Math.floor(Date.now() / (15 * MINUTE)) + 1;
    const schedule = await h.services.repos.jobs.schedules.findByName("token-refresh.sweep");
    assert.equal(schedule?.next_run_at, nextSlot * 15 * MINUTE, "the next sweep is due at the next slot");
  });
});
