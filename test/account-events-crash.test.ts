// Account events survive the process: a mailbox connects while the job runner is stopped, so the
// committed event's fan-out job has not run when the process goes away. A fresh Mailroom on the same
// database delivers the notify_url callback and the account_status webhooks, once per event id, and
// a second run of the fan-out (a crash after its listeners, before it was marked done) adds nothing.
// On every dialect.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { SEED_PASSWORD } from "../sandbox/src/seed.ts";
import { buildServices, type Services } from "../src/app/services.ts";
import { createLogger } from "../src/lib/logger.ts";
import { testLookup } from "./support/app.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./support/browser.ts";
import { startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import { countRows } from "./support/unit-of-work.ts";
import { until } from "./support/until.ts";

for (const dialect of dialects()) {
  describe(`account events after a crash on ${dialect}`, () => crashSuite(dialect));
}

const FAN_OUT_KINDS = ["accounts.event", "hosted.notify", "webhooks.deliver"];

function crashSuite(dialect: Dialect): void {
  it("an event committed before the process went away is delivered by the next one: one notify_url callback and one webhook per event id, even when the fan-out runs twice", async () => {
    const h = await startConnectHarness(dialect, { env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" } });
    const receiver = await startReceiver();
    let fresh: Services | undefined;
    let first: Services | undefined = h.services;
    try {
      const hook = await h.app.inject({
        method: "POST",
        url: "/api/v1/webhooks",
        headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
        payload: JSON.stringify({ request_url: `${receiver.url}&hook=status`, source: "account_status" }),
      });
      assert.equal(hook.statusCode, 201, hook.body);
      // The runner stops before the fan-out job can run: the process "dies" right after the commit.
      await h.services.jobs.stop();

      const email = `uow-crash-${dialect}-${process.pid}@contoso.onmicrosoft.com`;
      const user = await fetch(`${h.sandbox.url}/_sandbox/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password: SEED_PASSWORD }),
      });
      assert.equal(user.status, 201);
      const link = await h.createLink({
        type: "create",
        providers: "*",
        notify_url: `${receiver.url}&hook=notify`,
      });
      assert.equal(link.status, 200, JSON.stringify(link.json));
      await connectThroughWizard(
        new MultiOriginBrowser([h.baseUrl, h.sandbox.url]),
        link.json.url as string,
        {
          email,
          password: SEED_PASSWORD,
        },
      );
      const db = h.services.storage.db;
      const account = await db
        .selectFrom("accounts")
        .selectAll()
        .where("email", "=", email)
        .executeTakeFirst();
      assert.ok(account, "the account was committed");
      const event = await db
        .selectFrom("account_events")
        .selectAll()
        .where("account_id", "=", account.id)
        .executeTakeFirstOrThrow();
      assert.equal(event.type, "CREATION_SUCCESS");
      const job = await db
        .selectFrom("jobs")
        .selectAll()
        .where("idempotency_key", "=", `accounts.event:${event.id}`)
        .executeTakeFirstOrThrow();
      assert.equal(job.status, "queued", "committed with the event, not run yet");
      assert.equal(receiver.received.length, 0);

      await h.app.close();
      await h.services.close();
      first = undefined;
      fresh = await buildServices(h.t.config, createLogger({ level: "silent" }), {
        webhooks: { lookup: testLookup },
        jobs: { pollIntervalMs: 20 },
      });
      await fresh.jobs.start();
      const services = fresh;
      const settled = async () => {
        const open = await services.storage.db
          .selectFrom("jobs")
          .select("id")
          .where("kind", "in", FAN_OUT_KINDS)
          .where("status", "in", ["queued", "running"])
          .execute();
        return open.length === 0;
      };
      const notifications = () => receiver.received.filter((r) => r.url.includes("hook=notify"));
      const webhooks = () => receiver.received.filter((r) => r.url.includes("hook=status"));
      await until("the notify_url callback", () => notifications().length > 0);
      await until("CREATION_SUCCESS and OK", () => webhooks().length >= 2);
      await until("every fan-out job done", settled);

      // The fan-out runs a second time, as after a crash between its listeners and its completion.
      await services.storage.db
        .updateTable("jobs")
        .set({ status: "queued", run_at: Date.now(), locked_by: null, locked_until: null, finished_at: null })
        .where("id", "=", job.id)
        .execute();
      await until("the second fan-out run", async () => {
        const row = await services.storage.db
          .selectFrom("jobs")
          .selectAll()
          .where("id", "=", job.id)
          .executeTakeFirst();
        return row?.status === "done" && row.attempts === 2;
      });
      await until("every fan-out job done again", settled);

      assert.equal(notifications().length, 1, "one notify_url callback");
      assert.deepEqual(JSON.parse(notifications()[0]?.body ?? "{}"), {
        status: "CREATION_SUCCESS",
        account_id: account.id,
        name: "",
      });
      const ids = webhooks().map((r) => String(r.headers["x-mailroom-event-id"]));
      assert.equal(new Set(ids).size, ids.length, `one delivery per event id: ${ids.join(", ")}`);
      assert.deepEqual(
        webhooks()
          .map((r) => (JSON.parse(r.body) as { AccountStatus: { message: string } }).AccountStatus.message)
          .sort(),
        ["CREATION_SUCCESS", "OK"],
      );
      assert.equal(await countRows(services.storage.db, "jobs", { kind: "hosted.notify" }), 1);
      assert.equal(await countRows(services.storage.db, "jobs", { kind: "webhooks.deliver" }), 2);
      assert.equal(
        await countRows(services.storage.db, "jobs", { kind: "realtime.sync" }),
        1,
        "one connect sync",
      );
    } finally {
      await receiver.close();
      if (first) {
        await h.app.close();
        await first.close();
      }
      await fresh?.close();
      await h.t.database.drop();
      await h.sandbox.close();
      rmSync(h.t.dataDir, { recursive: true, force: true });
    }
  });
}
