// The behaviour every JobQueue implementation owes its callers (src/jobs/queue.ts), as one suite that
// each runner runs against its own backend: the embedded SQL runner on SQLite and PostgreSQL, the
// BullMQ runner on Redis. It uses real time with short delays, because a Redis-backed runner cannot
// be driven by a test clock; every wait is an `until` with a deadline, and the few "nothing more
// happens" checks watch for a bounded window (`quietFor`), which is the only way to observe an absence.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineJob, PermanentJobError, RetryLaterError, SnoozeError } from "../../src/jobs/queue.ts";
import { describeExclusiveAndRecurringContract } from "./job-contract-keys.ts";
import { contractRunner, type JobQueueContractFactory, quietFor } from "./job-contract-kit.ts";
import { until } from "./until.ts";

export type { ContractBackend, JobQueueContractFactory } from "./job-contract-kit.ts";

export function describeJobQueueContract(name: string, factory: JobQueueContractFactory): void {
  const withQueue = contractRunner(factory);

  describe(`JobQueue contract: ${name}`, () => {
    it("an enqueued job runs once, with its payload intact and attempt 1", () => {
      const payload = {
        n: 7,
        text: 'héllo ✉ "quoted"',
        nested: { list: [1, "two", { x: null }], flag: null },
      };
      const seen: { payload: unknown; attempt: number; jobId: string }[] = [];
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            async handler(p, ctx) {
              seen.push({ payload: p, attempt: ctx.attempt, jobId: ctx.jobId });
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          const { id, created } = await queue.enqueue("contract.a", payload);
          assert.equal(created, true);
          await until("the job to run", () => seen.length === 1);
          assert.deepEqual(seen[0], { payload, attempt: 1, jobId: id });
          await until("the job to count as done", async () => (await queue.stats()).done === 1);
          assert.deepEqual(await queue.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
        },
      );
    });

    it("an idempotency key makes enqueue exactly-once: the same id comes back and a done job is not run again", () => {
      const runs: number[] = [];
      return withQueue(
        [defineJob({ kind: "contract.a", handler: async (p) => void runs.push(p.n) })],
        async ({ queue }) => {
          const [first, second] = await Promise.all([
            queue.enqueue("contract.a", { n: 1 }, { idempotencyKey: "contract:once" }),
            queue.enqueue("contract.a", { n: 2 }, { idempotencyKey: "contract:once" }),
          ]);
          assert.equal(first.id, second.id);
          assert.deepEqual([first.created, second.created].sort(), [false, true]);
          await queue.start();
          await until("the job to be done", async () => (await queue.stats()).done === 1);
          const again = await queue.enqueue("contract.a", { n: 3 }, { idempotencyKey: "contract:once" });
          assert.deepEqual(again, { id: first.id, created: false });
          await quietFor(200, "a done job is not run again", () => runs.length === 1);
          const other = await queue.enqueue("contract.a", { n: 4 }, { idempotencyKey: "contract:other" });
          assert.equal(other.created, true, "another key is another job");
          await until("the other job to run", () => runs.length === 2);
        },
      );
    });

    it("a job does not run before its runAt or delayMs", () => {
      const startedAt = new Map<number, number>();
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            concurrency: 2,
            handler: async (p) => void startedAt.set(p.n, Date.now()),
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          const enqueuedAt = Date.now();
          await queue.enqueue("contract.a", { n: 1 }, { delayMs: 300 });
          const runAt = Date.now() + 400;
          await queue.enqueue("contract.a", { n: 2 }, { runAt });
          await until("both jobs to run", () => startedAt.size === 2);
          assert.ok((startedAt.get(1) ?? 0) >= enqueuedAt + 300, "delayMs is honoured");
          assert.ok((startedAt.get(2) ?? 0) >= runAt, "runAt is honoured");
        },
      );
    });

    it("a failing job is retried with backoff and dead-lettered after maxAttempts, visible in stats", () => {
      const attempts: number[] = [];
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            maxAttempts: 3,
            backoff: { baseMs: 20, maxMs: 40 },
            async handler(_p, ctx) {
              attempts.push(ctx.attempt);
              throw new Error(`boom ${ctx.attempt}`);
            },
          }),
          defineJob({
            kind: "contract.b",
            maxAttempts: 3,
            backoff: { baseMs: 20, maxMs: 40 },
            async handler(_p, ctx) {
              if (ctx.attempt < 2) throw new Error("flaky");
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await queue.enqueue("contract.b", { n: 1 });
          await until("the failing job to be dead", async () => (await queue.stats()).dead === 1);
          assert.deepEqual(attempts, [1, 2, 3]);
          await until("the flaky job to succeed", async () => (await queue.stats()).done === 1);
          await quietFor(200, "a dead job is not run again", () => attempts.length === 3);
          assert.deepEqual(await queue.stats(), { queued: 0, running: 0, done: 1, dead: 1 });
        },
      );
    });

    it("a RetryLaterError retries after its delay rather than the backoff, spending an attempt", () => {
      const runs: { attempt: number; at: number }[] = [];
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            backoff: { baseMs: 1, maxMs: 1 },
            async handler(_p, ctx) {
              runs.push({ attempt: ctx.attempt, at: Date.now() });
              if (ctx.attempt === 1) throw new RetryLaterError(300);
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await until("the retry to run", () => runs.length === 2);
          assert.deepEqual(
            runs.map((r) => r.attempt),
            [1, 2],
          );
          assert.ok((runs[1]?.at ?? 0) - (runs[0]?.at ?? 0) >= 300, "waited the requested delay");
        },
      );
    });

    it("a PermanentJobError dead-letters the job at once, attempts left or not", () => {
      let calls = 0;
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            maxAttempts: 5,
            async handler() {
              calls += 1;
              throw new PermanentJobError("the account was deleted");
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await until("the job to be dead", async () => (await queue.stats()).dead === 1);
          await quietFor(150, "not run again", () => calls === 1);
        },
      );
    });

    it("at most `concurrency` handlers of a kind run at once in one queue", () => {
      let running = 0;
      let most = 0;
      let finished = 0;
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            concurrency: 2,
            async handler() {
              running += 1;
              most = Math.max(most, running);
              await new Promise((resolve) => setTimeout(resolve, 60));
              running -= 1;
              finished += 1;
            },
          }),
        ],
        async ({ queue }) => {
          for (let n = 0; n < 6; n++) await queue.enqueue("contract.a", { n });
          await queue.start();
          await until("every job to finish", () => finished === 6);
          assert.equal(most, 2, "two ran side by side, never three");
        },
      );
    });

    it("a snoozed job runs again after its delay without spending an attempt, and is never dead from snoozing", () => {
      const runs: { attempt: number; at: number }[] = [];
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            maxAttempts: 2,
            backoff: { baseMs: 1, maxMs: 1 },
            async handler(_p, ctx) {
              runs.push({ attempt: ctx.attempt, at: Date.now() });
              // A real failure first, then more snoozes than maxAttempts allows failures.
              if (runs.length === 1) throw new Error("one real failure");
              if (runs.length <= 5) throw new SnoozeError(40);
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await until("the job to be done", async () => (await queue.stats()).done === 1);
          assert.deepEqual(
            runs.map((r) => r.attempt),
            [1, 2, 2, 2, 2, 2],
            "snoozes leave the attempt where it was",
          );
          for (let i = 2; i < runs.length; i++)
            assert.ok((runs[i]?.at ?? 0) - (runs[i - 1]?.at ?? 0) >= 40, "each snooze waited its delay");
          assert.equal((await queue.stats()).dead, 0);
        },
      );
    });

    it("a job enqueued in a transaction exists only if the transaction commits", () => {
      const runs: number[] = [];
      return withQueue(
        [defineJob({ kind: "contract.a", handler: async (p) => void runs.push(p.n) })],
        async ({ queue, storage }) => {
          await queue.start();
          await assert.rejects(
            storage.transaction(async (tx) => {
              await queue.enqueue("contract.a", { n: 1 }, { transaction: tx, idempotencyKey: "contract:tx" });
              throw new Error("the caller's work failed");
            }),
            /the caller's work failed/,
          );
          const committed = await storage.transaction(async (tx) => {
            const first = await queue.enqueue(
              "contract.a",
              { n: 2 },
              { transaction: tx, idempotencyKey: "contract:tx" },
            );
            const second = await queue.enqueue(
              "contract.a",
              { n: 3 },
              { transaction: tx, idempotencyKey: "contract:tx" },
            );
            assert.equal(first.created, true, "the rolled-back job left no key behind");
            assert.deepEqual(
              second,
              { id: first.id, created: false },
              "the key holds inside the transaction",
            );
            return first;
          });
          assert.equal(committed.created, true);
          await until("the committed job to run", () => runs.length === 1);
          await quietFor(150, "only the committed job ran", () => runs.length === 1);
          assert.deepEqual(runs, [2]);
          assert.deepEqual(await queue.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
        },
      );
    });

    it("enqueueMany in a transaction: all jobs or none, keys held within the batch and against earlier jobs, results in order", () => {
      const runs: number[] = [];
      return withQueue(
        [defineJob({ kind: "contract.a", handler: async (p) => void runs.push(p.n) })],
        async ({ queue, storage }) => {
          await queue.start();
          const earlier = await queue.enqueue("contract.a", { n: 1 }, { idempotencyKey: "contract:many:1" });
          await until("the earlier job to run", () => runs.length === 1);
          await assert.rejects(
            storage.transaction(async (tx) => {
              await queue.enqueueMany([{ kind: "contract.a", payload: { n: 90 } }], { transaction: tx });
              throw new Error("the caller's work failed");
            }),
            /the caller's work failed/,
          );
          const results = await storage.transaction((tx) =>
            queue.enqueueMany(
              [
                { kind: "contract.a", payload: { n: 10 }, options: { idempotencyKey: "contract:many:1" } },
                { kind: "contract.a", payload: { n: 2 }, options: { idempotencyKey: "contract:many:2" } },
                { kind: "contract.a", payload: { n: 20 }, options: { idempotencyKey: "contract:many:2" } },
                { kind: "contract.a", payload: { n: 3 } },
                { kind: "contract.a", payload: { n: 4 }, options: { delayMs: 100 } },
              ],
              { transaction: tx },
            ),
          );
          assert.deepEqual(
            results.map((r) => r.created),
            [false, true, false, true, true],
          );
          assert.equal(results[0]?.id, earlier.id, "a key already used names the earlier job");
          assert.equal(results[2]?.id, results[1]?.id, "a key repeated in the batch names its first job");
          await until("the committed jobs to run", () => runs.length === 4);
          await quietFor(150, "nothing else ran", () => runs.length === 4);
          assert.deepEqual(runs.slice(1).sort(), [2, 3, 4]);
        },
      );
    });

    it("stop() waits for running handlers and takes no new jobs meanwhile", () => {
      let finished = 0;
      let started = 0;
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            async handler() {
              started += 1;
              await new Promise((resolve) => setTimeout(resolve, 150));
              finished += 1;
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await until("the job to start", () => started === 1);
          await queue.enqueue("contract.a", { n: 2 });
          await queue.stop({ drainTimeoutMs: 5_000 });
          assert.equal(finished, 1, "stop() resolved after the running handler finished");
          await quietFor(150, "no job starts after stop()", () => started === 1);
        },
      );
    });

    it("stop() aborts the handlers' signal once drainTimeoutMs has passed, and returns", () => {
      let signal: AbortSignal | undefined;
      return withQueue(
        [
          defineJob({
            kind: "contract.a",
            async handler(_p, ctx) {
              signal = ctx.signal;
              await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
            },
          }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 });
          await until("the job to start", () => signal !== undefined);
          const stopping = performance.now();
          await queue.stop({ drainTimeoutMs: 100 });
          const tookMs = performance.now() - stopping;
          assert.ok(signal?.aborted, "the handler's signal was aborted");
          // It waited for the drain timeout (timers run on the event loop's cached clock, so a 100 ms
          // timer can fire a millisecond early by another clock), and did not wait for the handler.
          assert.ok(tookMs >= 90 && tookMs < 5_000, `stop() took ${Math.round(tookMs)} ms`);
        },
      );
    });
  });

  describeExclusiveAndRecurringContract(name, withQueue);
}
