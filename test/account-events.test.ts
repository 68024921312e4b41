// The fan-out of account events: a listener that fails makes the job run again (the failure is not
// swallowed), every listener runs on every attempt, and the operator still gets each account_status
// event once. On every dialect.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { newId } from "../src/lib/ids.ts";
import { accountRow } from "./support/account-rows.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import { countRows } from "./support/unit-of-work.ts";
import { until } from "./support/until.ts";

for (const dialect of dialects()) {
  describe(`account event fan-out on ${dialect}`, () => fanOutSuite(dialect));
}

function fanOutSuite(dialect: Dialect): void {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const calls = new Map<string, number>();

  before(async () => {
    t = await createTestApp(
      dialect,
      { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
      { jobs: { pollIntervalMs: 20 } },
    );
    receiver = await startReceiver();
    const res = await t.app.inject({
      method: "POST",
      url: "/api/v1/webhooks",
      headers: { "x-api-key": t.apiKey, "content-type": "application/json" },
      payload: JSON.stringify({ request_url: receiver.url, source: "account_status" }),
    });
    assert.equal(res.statusCode, 201, res.body);
    // Fails the first time it sees an account's event, as a listener whose database call failed.
    t.services.accountEvents.add({
      name: "flaky",
      handle: async (event) => {
        const seen = (calls.get(event.accountId) ?? 0) + 1;
        calls.set(event.accountId, seen);
        if (seen === 1) throw new Error("flaky listener down");
      },
    });
    await t.services.jobs.start();
  });
  after(async () => {
    await receiver.close();
    await t.dispose();
  });

  it("a failing listener fails the fan-out job, which runs again; the other listeners' effects are not repeated", async () => {
    const id = newId();
    const now = Date.now();
    await t.services.repos.accounts.insert(
      accountRow(
        {
          id,
          name: "fanout@contoso.example",
          email: "fanout@contoso.example",
          provider_user_id: `oid-${id}`,
          tenant_id: "tenant",
        },
        now,
      ),
    );
    assert.ok(await t.services.accounts.delete(id, "api"));
    const event = await t.services.storage.db
      .selectFrom("account_events")
      .selectAll()
      .where("account_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(event.type, "DELETED");
    const job = await until("the fan-out job done", async () => {
      const row = await t.services.storage.db
        .selectFrom("jobs")
        .selectAll()
        .where("idempotency_key", "=", `accounts.event:${event.id}`)
        .executeTakeFirst();
      return row?.status === "done" ? row : undefined;
    });
    assert.equal(job.attempts, 2, "the failure was not swallowed: the job ran again");
    assert.equal(calls.get(id), 2);
    const deliveries = () =>
      receiver.received.filter(
        (r) =>
          (JSON.parse(r.body) as { AccountStatus: { account_id: string } }).AccountStatus.account_id === id,
      );
    await until("the DELETED webhook", () => deliveries().length > 0);
    await until("every delivery job done", async () => {
      const open = await t.services.storage.db
        .selectFrom("jobs")
        .select("id")
        .where("kind", "=", "webhooks.deliver")
        .where("status", "in", ["queued", "running"])
        .execute();
      return open.length === 0;
    });
    assert.equal(deliveries().length, 1, "published on both runs, delivered once");
    assert.equal(await countRows(t.services.storage.db, "webhook_events", { account_id: id }), 1);
  });
}
