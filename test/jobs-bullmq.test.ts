// What is particular to the BullMQ runner (the shared JobQueue contract is in jobs-contract.test.ts):
// the relay from SQL transactions to Redis, idempotency keys across kinds' queues, two processes
// sharing one prefix, recurring slots, retention. Real Redis (127.0.0.1:6379, a random prefix per
// test). Redis outages and restarts are in jobs-bullmq-redis.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createJobRegistry, defineJob } from "../src/jobs/queue.ts";
import { CLAIM_IDEMPOTENCY_KEY, jobIds, redisKeys } from "../src/jobs/redis-keys.ts";
import { JobRelayRepository } from "../src/storage/repositories/job-relay.repository.ts";
import { bullFixture } from "./fixtures/bullmq-helpers.ts";
import { gate } from "./fixtures/jobs-helpers.ts";
import { dialects } from "./support/databases.ts";
import { REDIS_URL } from "./support/redis.ts";
import { until } from "./support/until.ts";

declare module "../src/jobs/queue.ts" {
  interface JobPayloads {
    "bull.a": { n: number };
    "bull.b": { n: number };
  }
}

const recorder = (runs: number[]) => [
  defineJob({ kind: "bull.a", concurrency: 4, handler: async (p) => void runs.push(p.n) }),
  defineJob({ kind: "bull.b", handler: async (p) => void runs.push(100 + p.n) }),
];

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

for (const dialect of dialects()) {
  describe(`BullMQ runner relay (${dialect})`, () => {
    it("a job enqueued in a committed transaction runs; a rolled-back one leaves neither a job nor a row", async () => {
      const fx = await bullFixture(dialect);
      try {
        const runs: number[] = [];
        const runner = fx.runner(createJobRegistry(recorder(runs)));
        await runner.start();
        await assert.rejects(
          fx.storage.transaction(async (tx) => {
            await runner.enqueue("bull.a", { n: 1 }, { transaction: tx });
            throw new Error("rolled back");
          }),
          /rolled back/,
        );
        const result = await fx.storage.transaction((tx) =>
          runner.enqueue("bull.a", { n: 2 }, { transaction: tx, delayMs: 50 }),
        );
        assert.equal(result.created, true);
        await until("the committed job to run", () => runs.length === 1);
        assert.deepEqual(runs, [2]);
        await until("the relay row to be deleted", async () => (await runner.relayBacklog()) === 0);
        await until("the job to count as done", async () => (await runner.stats()).done === 1);
        await pause(150);
        assert.deepEqual(runs, [2], "the rolled-back job never ran");
      } finally {
        await fx.dispose();
      }
    });

    it("a job enqueued in a transaction that commits late runs soon after the commit, not at the relay's next interval", async () => {
      const fx = await bullFixture(dialect);
      try {
        const runs: number[] = [];
        const runner = fx.runner(createJobRegistry(recorder(runs)), {
          relay: { storage: fx.storage, intervalMs: 10_000 },
        });
        await runner.start();
        await pause(100);
        await fx.storage.transaction(async (tx) => {
          await runner.enqueue("bull.a", { n: 1 }, { transaction: tx });
          // Commits after the wake-up's first pass has looked (and, on PostgreSQL, found nothing).
          await pause(80);
        });
        const committedAt = Date.now();
        await until("the job to run", () => runs.length === 1, { timeoutMs: 5_000 });
        assert.ok(Date.now() - committedAt < 2_000, `ran ${Date.now() - committedAt} ms after the commit`);
      } finally {
        await fx.dispose();
      }
    });

    it("a relay row left by a crashed process is relayed by the next one, once, even if it was already added", async () => {
      const fx = await bullFixture(dialect);
      try {
        const runs: number[] = [];
        const repository = new JobRelayRepository(fx.storage.db, fx.storage.dialect);
        const row = (id: string, n: number, key: string | null) => ({
          id,
          kind: "bull.a",
          payload: JSON.stringify({ n }),
          idempotency_key: key,
          exclusive_key: null,
          run_at: Date.now(),
          max_attempts: null,
          created_at: Date.now(),
        });
        // Committed, never relayed (the process died after the commit).
        await repository.insert(row("AAAAAAAAAAAAAAAAAAAAAA", 1, null));
        // Committed and relayed, but the crash came before the row's delete: the claim and the job exist.
        await repository.insert(row("BBBBBBBBBBBBBBBBBBBBBB", 2, "bull:crashed"));
        const redis = new Redis(REDIS_URL);
        const queue = new Queue("bull.a", { connection: redis, prefix: fx.prefix });
        try {
          const idemKey = redisKeys(fx.prefix).idempotency("bull:crashed");
          await redis.eval(CLAIM_IDEMPOTENCY_KEY, 1, idemKey, "BBBBBBBBBBBBBBBBBBBBBB", 60_000);
          await queue.add(
            "bull.a",
            { payload: { n: 2 } },
            { jobId: jobIds.fromIdempotencyKey("bull:crashed") },
          );
        } finally {
          await queue.close();
          redis.disconnect();
        }
        // Another process's job under another key is untouched.
        const other = fx.runner(createJobRegistry());
        await other.enqueue("bull.a", { n: 3 }, { idempotencyKey: "bull:other-process" });
        await other.stop();

        const next = fx.runner(createJobRegistry(recorder(runs)));
        await next.start();
        await until("every job to run", () => runs.length === 3);
        await until("the rows to be gone", async () => (await next.relayBacklog()) === 0);
        await until("three jobs done", async () => (await next.stats()).done === 3);
        await pause(150);
        assert.deepEqual(
          runs.sort(),
          [1, 2, 3],
          "each job ran once: the relayed row's, the one added before the crash, the other process's",
        );
      } finally {
        await fx.dispose();
      }
    });

    it("an idempotency key taken in Redis makes a transactional enqueue return the existing job", async () => {
      const fx = await bullFixture(dialect);
      try {
        const runs: number[] = [];
        const runner = fx.runner(createJobRegistry(recorder(runs)));
        const first = await runner.enqueue("bull.a", { n: 1 }, { idempotencyKey: "bull:tx-known" });
        const again = await fx.storage.transaction((tx) =>
          runner.enqueue("bull.b", { n: 2 }, { transaction: tx, idempotencyKey: "bull:tx-known" }),
        );
        assert.deepEqual(again, { id: first.id, created: false });
        assert.equal(await runner.relayBacklog(), 0, "no row was written for a known key");
        assert.equal(first.id, jobIds.fromIdempotencyKey("bull:tx-known"));
      } finally {
        await fx.dispose();
      }
    });
  });
}

describe("BullMQ runner on one Redis prefix", () => {
  it("an idempotency key is exactly-once across kinds", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const runs: number[] = [];
      const runner = fx.runner(createJobRegistry(recorder(runs)));
      const first = await runner.enqueue("bull.a", { n: 1 }, { idempotencyKey: "bull:cross" });
      const second = await runner.enqueue("bull.b", { n: 2 }, { idempotencyKey: "bull:cross" });
      assert.equal(first.created, true);
      assert.deepEqual(second, { id: first.id, created: false });
      await runner.start();
      await until("the job to run", () => runs.length === 1);
      await pause(150);
      assert.deepEqual(runs, [1], "only the first kind's job ran");
      assert.deepEqual(await runner.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
    } finally {
      await fx.dispose();
    }
  });

  it("two runners on the same prefix share the work and run each job once", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const ranBy = new Map<number, string[]>();
      const definitions = (who: string) => [
        defineJob({
          kind: "bull.a",
          concurrency: 2,
          async handler(p: { n: number }) {
            ranBy.set(p.n, [...(ranBy.get(p.n) ?? []), who]);
            await pause(20);
          },
        }),
      ];
      const one = fx.runner(createJobRegistry(definitions("one")));
      const two = fx.runner(createJobRegistry(definitions("two")));
      for (let n = 0; n < 30; n++) await (n % 2 ? one : two).enqueue("bull.a", { n });
      await Promise.all([one.start(), two.start()]);
      await until("every job to run", () => ranBy.size === 30);
      await until("every job done", async () => (await one.stats()).done === 30);
      assert.ok(
        [...ranBy.values()].every((by) => by.length === 1),
        "no job ran twice",
      );
      const runners = new Set([...ranBy.values()].flat());
      assert.deepEqual([...runners].sort(), ["one", "two"], "both runners took jobs");
      assert.equal(
        (one.counters()["bull.a"]?.completed ?? 0) + (two.counters()["bull.a"]?.completed ?? 0),
        30,
      );
    } finally {
      await fx.dispose();
    }
  });

  it("a job waiting for its exclusive key starts when the holder releases it, not after its retry delay", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const held = gate();
      const started: Record<string, number> = {};
      const runner = fx.runner(
        createJobRegistry([
          defineJob({
            kind: "bull.a",
            async handler() {
              started.a = Date.now();
              await held.wait;
            },
          }),
          defineJob({
            kind: "bull.b",
            async handler() {
              started.b = Date.now();
            },
          }),
        ]),
        // Without the release's wake-up, the waiter would start 10 s later at the earliest.
        { exclusiveRetryMs: 10_000 },
      );
      await runner.start();
      await runner.enqueue("bull.a", { n: 1 }, { exclusiveKey: "bull:key" });
      await until("the holder to start", () => started.a !== undefined);
      await runner.enqueue("bull.b", { n: 2 }, { exclusiveKey: "bull:key" });
      await until("the waiter to find the key held", async () => (await runner.stats()).queued === 1);
      await pause(300);
      assert.equal(started.b, undefined, "the waiter does not run while the key is held");
      const releasedAt = Date.now();
      held.open();
      await until("the waiter to run", () => started.b !== undefined, { timeoutMs: 5_000 });
      assert.ok(
        started.b! - releasedAt < 3_000,
        `the waiter started ${started.b! - releasedAt} ms after the release`,
      );
    } finally {
      await fx.dispose();
    }
  });

  it("a new recurring job runs its current slot at once, then slots at n · everyMs + offsetMs", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const jobIdsSeen: string[] = [];
      const runner = fx.runner(
        createJobRegistry([
          defineJob({ kind: "bull.a", handler: async (_p, ctx) => void jobIdsSeen.push(ctx.jobId) }),
        ]),
      );
      await runner.start();
      const slotOf = (now: number) => Math.floor((now - 70) / 200) * 200 + 70;
      const declaredFrom = slotOf(Date.now());
      await runner.schedule({
        name: "bull.offset",
        kind: "bull.a",
        payload: { n: 1 },
        everyMs: 200,
        offsetMs: 70,
      });
      // The slot under way at some moment of the declaration (a slow machine may take more than one).
      const currentSlots = new Set<number>();
      for (let slot = declaredFrom; slot <= slotOf(Date.now()); slot += 200) currentSlots.add(slot);
      await until("the current slot and three more to run", () => jobIdsSeen.length >= 4);
      await runner.unschedule("bull.offset");
      const [current, ...slots] = jobIdsSeen;
      const currentIds = [...currentSlots].map((ms) =>
        jobIds.fromIdempotencyKey(`schedule:bull.offset:${ms}`),
      );
      assert.ok(currentIds.includes(current ?? ""), "the slot under way at declaration ran first");
      const slotTimes = slots.map((id) => Number(id.split(":").at(-1)));
      assert.ok(
        slotTimes.every((ms) => ms % 200 === 70),
        `slot times ${slotTimes.join(", ")} are 70 ms into 200 ms periods`,
      );
    } finally {
      await fx.dispose();
    }
  });

  it("a recurring job's slots carry its exclusive key, and slots due while it is held are skipped, not piled up", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const held = gate();
      const runs: number[] = [];
      const runner = fx.runner(
        createJobRegistry([
          defineJob({
            kind: "bull.a",
            concurrency: 2,
            async handler(p) {
              runs.push(p.n);
              if (p.n === 1) await held.wait;
            },
          }),
        ]),
      );
      await runner.start();
      await runner.enqueue("bull.a", { n: 1 }, { exclusiveKey: "bull:shared" });
      await until("the key holder to start", () => runs.length === 1);
      await runner.schedule({
        name: "bull.keyed",
        kind: "bull.a",
        payload: { n: 2 },
        everyMs: 100,
        exclusiveKey: "bull:shared",
      });
      await pause(500);
      assert.deepEqual(runs, [1], "no slot ran while the key was held");
      held.open();
      await until("a slot to run once the key is free", () => runs.includes(2));
      await runner.unschedule("bull.keyed");
      await pause(300);
      assert.ok(
        runs.filter((n) => n === 2).length <= 2,
        `the slots that fell while the key was held did not pile up (${runs.length - 1} ran)`,
      );
    } finally {
      await fx.dispose();
    }
  });

  it("finished jobs are kept for the configured retention, and outcomes are reported as the embedded runner does", async () => {
    const fx = await bullFixture("sqlite");
    try {
      const events: string[] = [];
      const runner = fx.runner(
        createJobRegistry([
          defineJob({
            kind: "bull.a",
            maxAttempts: 2,
            backoff: { baseMs: 1, maxMs: 1 },
            async handler(p, ctx) {
              if (p.n === 2 || ctx.attempt === 1) throw new Error(`fails on attempt ${ctx.attempt}`);
            },
          }),
        ]),
        {
          retention: { doneMs: 5_000, deadMs: 7_000 },
          onOutcome: (e) => events.push(`${e.outcome}:${e.attempt}`),
        },
      );
      await runner.start();
      const done = await runner.enqueue("bull.a", { n: 1 });
      const dead = await runner.enqueue("bull.a", { n: 2 });
      await until("one done and one dead", async () => {
        const stats = await runner.stats();
        return stats.done === 1 && stats.dead === 1;
      });
      assert.deepEqual(events.sort(), ["completed:2", "dead:2", "retried:1", "retried:1"]);
      assert.deepEqual(runner.counters()["bull.a"], { completed: 1, retried: 2, snoozed: 0, dead: 1 });
      const redis = new Redis(REDIS_URL);
      const queue = new Queue("bull.a", { connection: redis, prefix: fx.prefix });
      try {
        const doneJob = await queue.getJob(done.id);
        const deadJob = await queue.getJob(dead.id);
        assert.deepEqual(doneJob?.opts.removeOnComplete, { age: 5 });
        assert.deepEqual(deadJob?.opts.removeOnFail, { age: 7 });
        assert.equal(deadJob?.failedReason, "Error: fails on attempt 2", "the failed set keeps last_error");
      } finally {
        await queue.close();
        redis.disconnect();
      }
    } finally {
      await fx.dispose();
    }
  });
});
