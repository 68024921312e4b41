// When accounts poll: one recurring job per account (realtime.poll:<id>) at the account's offset in
// the interval, carrying the account's sync key; re-declared when the subscription's health changes
// the interval, removed when the account stops being connected. The watchdog recurs the same way.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jitterOffset } from "../src/domain/realtime/realtime.service.ts";
import { newId } from "../src/lib/ids.ts";
import type { AccountRow } from "../src/storage/repositories/account.repository.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

const HOUR = 3600_000;

for (const dialect of dialects()) {
  describe(`realtime poll schedule on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(dialect, { POLL_INTERVAL_SECONDS: "2", GRAPH_SUBSCRIPTIONS: "off" });
    });
    after(async () => {
      await t.dispose();
    });
    const schedules = () => t.services.repos.jobs.schedules;
    const pollOf = (accountId: string) => schedules().findByName(`realtime.poll:${accountId}`);

    it("an account polls on one recurring job at its offset, with its sync key; a healthy subscription slows it", async () => {
      const { realtime } = t.services;
      const id = newId();
      await realtime.d.repo.ensureAccount(id, Date.now());
      await realtime.schedulePoll(id);
      await realtime.schedulePoll(id);
      const first = await pollOf(id);
      assert.deepEqual(
        first && {
          kind: first.kind,
          payload: JSON.parse(first.payload),
          everyMs: first.every_ms,
          offsetMs: first.offset_ms,
          exclusiveKey: first.exclusive_key,
        },
        {
          kind: "realtime.poll",
          payload: { accountId: id },
          everyMs: 2_000,
          offsetMs: jitterOffset(id, 2_000),
          exclusiveKey: `realtime.sync:${id}`,
        },
      );

      await realtime.d.repo.updateAccount(id, {
        subscription_status: "active",
        subscription_expires_at: Date.now() + HOUR,
      });
      await realtime.schedulePoll(id);
      const healthy = await pollOf(id);
      assert.equal(healthy?.every_ms, 600_000, "ten minutes while notifications arrive");
      assert.equal(healthy?.offset_ms, jitterOffset(id, 600_000));
      assert.ok((healthy?.next_run_at ?? 0) > Date.now(), "the new period starts at its next slot");

      await realtime.d.repo.updateAccount(id, { subscription_status: "failed" });
      await realtime.schedulePoll(id);
      assert.equal((await pollOf(id))?.every_ms, 2_000, "back to the poll interval");
    });

    it("an account that stops being connected stops polling, and polls again when it is OK", async () => {
      const { realtime } = t.services;
      const listener = realtime.accountListener();
      const id = newId();
      const account = { id } as AccountRow;
      await realtime.d.repo.ensureAccount(id, Date.now());
      await realtime.schedulePoll(id);
      await listener.accountStatusChanged({ account, message: "CREDENTIALS" });
      assert.equal(await pollOf(id), undefined);
      await listener.accountStatusChanged({ account, message: "OK" });
      assert.ok(await pollOf(id));
      await listener.accountStatusChanged({ account, message: "DELETED" });
      assert.equal(await pollOf(id), undefined);
      assert.equal(await realtime.status(id), undefined, "its realtime state is forgotten");
    });

    it("a poll for an account that is gone removes its schedule", async () => {
      await t.services.jobs.start();
      const gone = newId();
      await t.services.realtime.schedulePoll(gone);
      await until("the poll to remove its own schedule", async () => (await pollOf(gone)) === undefined);
    });

    it("every process declares the same watchdog; it recurs once a minute", async () => {
      await t.services.realtime.startAll();
      await t.services.realtime.startAll();
      const watchdogs = (await schedules().list()).filter((s) => s.kind === "realtime.watchdog");
      assert.deepEqual(
        watchdogs.map((s) => ({ name: s.name, everyMs: s.every_ms })),
        [{ name: "realtime.watchdog", everyMs: 60_000 }],
      );
    });
  });
}
