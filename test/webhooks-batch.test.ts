// A publish's deliveries to one webhook share one delivery job (delivery-batch.ts): each is still its
// own signed POST, numbered and recorded on its own row, and a delivery that fails is retried by a job
// of its own on the usual schedule. Run with the embedded runner on SQLite and PostgreSQL, and with
// BullMQ (PostgreSQL + Redis).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { deliveryJobs } from "../src/domain/webhooks/outbox.ts";
import { newDelivery } from "../src/domain/webhooks/webhook-model.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { startReceiver } from "./support/connect-harness.ts";
import { dialects } from "./support/databases.ts";
import { deletePrefix, REDIS_URL, randomPrefix } from "./support/redis.ts";
import { until } from "./support/until.ts";

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const FAST_RETRIES = { retryDelaysMs: [50, 100, 150], maxAttempts: 4, timeoutMs: 2_000 };

const setups = [
  ...dialects().map((dialect) => ({ name: `the embedded runner on ${dialect}`, dialect, scaled: false })),
  ...(dialects().includes("postgres")
    ? [{ name: "BullMQ on PostgreSQL + Redis", dialect: "postgres" as const, scaled: true }]
    : []),
];

describe("the jobs of a publish's deliveries", () => {
  const shape = (webhooks: string[]) =>
    deliveryJobs(webhooks.map((webhook, i) => ({ ...newDelivery(`evt-${i}`, webhook, 0), id: `d${i}` }))).map(
      (job) =>
        "deliveryIds" in job.payload
          ? `${job.payload.webhookId}: batch of ${job.payload.deliveryIds.length}, no key`
          : `${job.payload.webhookId}: ${job.payload.deliveryId}, key ${job.options?.idempotencyKey}`,
    );
  for (const [name, webhooks, expected] of [
    ["none", [], []],
    ["a lone delivery: its own keyed job", ["w1"], ["w1: d0, key webhooks.deliver:d0:0"]],
    ["three to one webhook: one batch", ["w1", "w1", "w1"], ["w1: batch of 3, no key"]],
    [
      "one webhook with two, another with one",
      ["w1", "w2", "w1"],
      ["w1: batch of 2, no key", "w2: d1, key webhooks.deliver:d1:0"],
    ],
    [
      "130 to one webhook: batches of at most 64",
      Array.from({ length: 130 }, () => "w1"),
      ["w1: batch of 64, no key", "w1: batch of 64, no key", "w1: batch of 2, no key"],
    ],
    [
      "65 to one webhook: the one left over is a lone delivery",
      Array.from({ length: 65 }, () => "w1"),
      ["w1: batch of 64, no key", "w1: d64, key webhooks.deliver:d64:0"],
    ],
  ] as const)
    it(name, () => assert.deepEqual(shape([...webhooks]), expected));
});

for (const setup of setups)
  describe(`webhook deliveries batched per publish and webhook, ${setup.name}`, () => {
    let t: TestApp;
    let receiver: Receiver;
    const prefix = randomPrefix();
    before(async () => {
      t = await createTestApp(
        setup.dialect,
        {
          WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
          ...(setup.scaled
            ? { REDIS_URL, REDIS_PREFIX: prefix, MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64") }
            : {}),
        },
        { jobs: { pollIntervalMs: 20 }, webhooks: { delivery: FAST_RETRIES } },
      );
      receiver = await startReceiver();
    });
    after(async () => {
      await receiver.close();
      await t.dispose();
      if (setup.scaled) await deletePrefix(REDIS_URL, prefix);
    });

    const events = (tag: string, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        id: `${tag}-${i}`,
        type: "mail_received" as const,
        accountId: "acc-1",
        payload: { email_id: `${tag}-${i}`, subject: `${tag}-${i}` },
      }));
    const hookFor = async () => {
      const res = await t.app.inject({
        method: "POST",
        url: "/api/v1/webhooks",
        headers: { "x-api-key": t.apiKey },
        payload: { request_url: receiver.url, source: "email" },
      });
      return res.json().webhook_id as string;
    };
    const dropHook = (id: string) =>
      t.app.inject({ method: "DELETE", url: `/api/v1/webhooks/${id}`, headers: { "x-api-key": t.apiKey } });
    const receivedFor = (tag: string) =>
      receiver.received
        .filter((call) => String(call.headers["x-mailroom-event-id"]).startsWith(`${tag}-`))
        .map((call) => `${call.headers["x-mailroom-event-id"]}#${call.headers["x-mailroom-attempt"]}`)
        .sort();
    const deliveries = (webhookId: string) =>
      t.services.storage.db
        .selectFrom("webhook_deliveries")
        .select(["id", "event_id", "status", "attempts", "delivered_at"])
        .where("webhook_id", "=", webhookId)
        .orderBy("event_id")
        .execute();
    const settled = (webhookId: string, count: number) =>
      until(`${count} deliveries recorded`, async () => {
        const rows = await deliveries(webhookId);
        return rows.length === count && rows.every((row) => row.status !== "pending") ? rows : undefined;
      });

    it("a batch run again after it counted an attempt does not POST that delivery itself: its own job makes attempt 2", async () => {
      // The runner is not started yet: the batch is queued when the crash is staged.
      const hook = await hookFor();
      await t.services.webhooks.publishMany(events("crash", 4));
      // What a crash after the attempt was counted (and perhaps sent) leaves behind.
      const [first] = await deliveries(hook);
      await t.services.storage.db
        .updateTable("webhook_deliveries")
        .set({ attempts: 1 })
        .where("id", "=", first!.id)
        .execute();
      await t.services.jobs.start();
      const rows = await settled(hook, 4);
      assert.ok(rows.every((row) => row.status === "delivered"));
      assert.deepEqual(receivedFor("crash"), ["crash-0#2", "crash-1#1", "crash-2#1", "crash-3#1"]);
      await dropHook(hook);
    });

    it("20 events of one publish are 20 signed POSTs, each attempt 1 and recorded delivered, from one job", async () => {
      const hook = await hookFor();
      const jobsBefore = setup.scaled ? 0 : await deliveryJobRows(t);
      await t.services.webhooks.publishMany(events("many", 20));
      if (!setup.scaled) assert.equal(await deliveryJobRows(t), jobsBefore + 1, "one job for the batch");
      const rows = await settled(hook, 20);
      assert.ok(rows.every((row) => row.status === "delivered" && row.attempts === 1 && row.delivered_at));
      assert.deepEqual(
        receivedFor("many"),
        events("many", 20)
          .map((event) => `${event.id}#1`)
          .sort(),
      );
      await dropHook(hook);
    });

    it("a delivery of a batch that fails is retried by its own job, attempt 2; the others are delivered once", async () => {
      const hook = await hookFor();
      let failed = false;
      receiver.respond = (request) => {
        if (request.headers["x-mailroom-event-id"] !== "retry-3" || failed) return { status: 200 };
        failed = true;
        return { status: 503 };
      };
      await t.services.webhooks.publishMany(events("retry", 6));
      const rows = await settled(hook, 6);
      receiver.respond = undefined;
      assert.ok(failed, `the receiver answered 503 once: ${receivedFor("retry").join(", ")}`);
      assert.ok(rows.every((row) => row.status === "delivered"));
      assert.deepEqual(
        rows.map((row) => row.attempts),
        [1, 1, 1, 2, 1, 1],
      );
      assert.deepEqual(receivedFor("retry"), [
        "retry-0#1",
        "retry-1#1",
        "retry-2#1",
        "retry-3#1",
        "retry-3#2",
        "retry-4#1",
        "retry-5#1",
      ]);
      await dropHook(hook);
    });
  });

async function deliveryJobRows(t: TestApp): Promise<number> {
  const row = await t.services.storage.db
    .selectFrom("jobs")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("kind", "=", "webhooks.deliver-batch")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
