// The embedded job queue, on every dialect (DIALECTS=sqlite,postgres; both by default). Each test gets
// a fresh database. The crash test (a worker killed with SIGKILL) is in jobs-crash.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelayMs } from "../src/jobs/backoff.ts";
import { createJobRegistry, defineJob, PermanentJobError, RetryLaterError } from "../src/jobs/queue.ts";
import { TestClock } from "../src/lib/clock.ts";
import { newId } from "../src/lib/ids.ts";
import { capturingLog, gate, type JobsFixture, jobsFixture } from "./fixtures/jobs-helpers.ts";
import { dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

declare module "../src/jobs/queue.ts" {
  interface JobPayloads {
    "test.record": { n: number };
    "test.other": { n: number };
    "test.secret": { accessToken: string };
  }
}

describe("job backoff", () => {
  it("is full jitter: uniform below min(maxMs, baseMs·2^(attempt−1))", () => {
    const backoff = { baseMs: 100, maxMs: 1_000 };
    assert.equal(
      backoffDelayMs(1, backoff, () => 1),
      100,
    );
    assert.equal(
      backoffDelayMs(2, backoff, () => 1),
      200,
    );
    assert.equal(
      backoffDelayMs(4, backoff, () => 1),
      800,
    );
    assert.equal(
      backoffDelayMs(5, backoff, () => 1),
      1_000,
      "capped at maxMs",
    );
    assert.equal(
      backoffDelayMs(500, backoff, () => 1),
      1_000,
      "no overflow on huge attempt numbers",
    );
    assert.equal(
      backoffDelayMs(3, backoff, () => 0),
      0,
      "full jitter reaches zero",
    );
    assert.equal(
      backoffDelayMs(3, backoff, () => 0.5),
      200,
    );
  });

  it("definitions with impossible settings are refused where they are written", () => {
    const handler = async () => {};
    assert.throws(() => defineJob({ kind: "test.record", concurrency: 0, handler }), /concurrency/);
    assert.throws(() => defineJob({ kind: "test.record", maxAttempts: 0, handler }), /maxAttempts/);
    assert.throws(
      () => defineJob({ kind: "test.record", backoff: { baseMs: 10, maxMs: 1 }, handler }),
      /backoff/,
    );
    assert.throws(
      () =>
        createJobRegistry([
          defineJob({ kind: "test.record", handler }),
          defineJob({ kind: "test.record", handler }),
        ]),
      /registered twice/,
    );
  });
});

for (const dialect of dialects()) {
  describe(`jobs on ${dialect}`, () => {
    async function withJobs(test: (f: JobsFixture) => Promise<void>): Promise<void> {
      const fixture = await jobsFixture(dialect);
      try {
        await test(fixture);
      } finally {
        await fixture.dispose();
      }
    }

    it("an idempotency key makes enqueue exactly-once: concurrent and later enqueues return the same job, which runs once", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const runs: number[] = [];
        const runner = makeRunner([
          defineJob({
            kind: "test.record",
            async handler(payload) {
              runs.push(payload.n);
            },
          }),
        ]);
        const key = `record:${newId()}`;
        const [a, b] = await Promise.all([
          runner.enqueue("test.record", { n: 1 }, { idempotencyKey: key }),
          runner.enqueue("test.record", { n: 2 }, { idempotencyKey: key }),
        ]);
        assert.equal(a.id, b.id);
        assert.deepEqual([a.created, b.created].sort(), [false, true]);
        await runner.start();
        await until("the job to finish", async () => (await repository.findById(a.id))?.status === "done");
        const again = await runner.enqueue("test.record", { n: 3 }, { idempotencyKey: key });
        assert.deepEqual(again, { id: a.id, created: false }, "a done job is not enqueued again");
        await runner.poll();
        assert.equal(runs.length, 1);
        assert.deepEqual(await runner.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
        const other = await runner.enqueue("test.record", { n: 4 }, { idempotencyKey: `${key}-other` });
        assert.equal(other.created, true, "another key is another job");
      }));

    it("a handler's withOutcome write is stored with the run's outcome, on success and on a retry", () =>
      withJobs(async ({ runner: makeRunner, repository, storage }) => {
        let runs = 0;
        const runner = makeRunner([
          defineJob({
            kind: "test.record",
            async handler(payload, ctx) {
              runs++;
              assert.ok(ctx.withOutcome, "the embedded runner offers withOutcome");
              ctx.withOutcome(async (tx) => {
                await tx
                  .insertInto("meta")
                  .values({ key: `outcome:${payload.n}:${runs}`, value: String(runs) })
                  .execute();
              });
              if (runs === 1) throw new RetryLaterError(1, "once more");
            },
          }),
        ]);
        const { id } = await runner.enqueue("test.record", { n: 7 });
        await runner.start();
        await until("the job to finish", async () => (await repository.findById(id))?.status === "done");
        const rows = await storage.db
          .selectFrom("meta")
          .select("key")
          .where("key", "like", "outcome:7:%")
          .orderBy("key")
          .execute();
        assert.deepEqual(
          rows.map((row) => row.key),
          ["outcome:7:1", "outcome:7:2"],
          "the retried run's write and the completed run's write",
        );
      }));

    it("an enqueue in this process wakes the runner without waiting for the poll interval", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const runner = makeRunner([defineJob({ kind: "test.record", handler: async () => {} })], {
          pollIntervalMs: 60_000,
        });
        await runner.start();
        await runner.poll(); // the start-up poll has passed; the next one is a minute away
        const { id } = await runner.enqueue("test.record", { n: 1 });
        await until(
          "the job to finish",
          async () => (await repository.findById(id))?.status === "done",
          2_000,
        );
      }));

    it("a job with a future run time does not run before it, and runs once it is due", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const clock = new TestClock();
        let runs = 0;
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              async handler() {
                runs += 1;
              },
            }),
          ],
          { clock },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 }, { delayMs: 60_000 });
        const atTime = await runner.enqueue("test.record", { n: 2 }, { runAt: clock.now() + 120_000 });
        await runner.poll();
        clock.advance(59_999);
        await runner.poll();
        assert.equal(runs, 0, "not run a millisecond early");
        assert.equal((await repository.findById(id))?.status, "queued");
        clock.advance(1);
        await until(
          "the delayed job to finish",
          async () => (await repository.findById(id))?.status === "done",
        );
        assert.equal(runs, 1);
        assert.equal((await repository.findById(atTime.id))?.status, "queued", "runAt is honoured too");
        clock.advance(60_000);
        await until(
          "the runAt job to finish",
          async () => (await repository.findById(atTime.id))?.status === "done",
        );
      }));

    it("a failed run is retried after its capped exponential backoff, then succeeds", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const clock = new TestClock();
        const attempts: number[] = [];
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              maxAttempts: 5,
              backoff: { baseMs: 1_000, maxMs: 1_500 },
              async handler(_payload, ctx) {
                attempts.push(ctx.attempt);
                if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
              },
            }),
          ],
          { clock, random: () => 1 }, // the top of the jitter range, so delays are exact
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        const start = clock.now();
        const queuedAgain = async () => {
          const row = await repository.findById(id);
          return row?.status === "queued" && row.attempts > 0 ? row : undefined;
        };

        const first = await until("the first failure", queuedAgain);
        assert.equal(first.run_at, start + 1_000, "base delay after the first failure");
        assert.equal(first.last_error, "Error: flaky 1");
        clock.advance(999);
        await runner.poll();
        assert.deepEqual(attempts, [1], "not retried before the backoff elapses");

        clock.advance(1);
        const second = await until("the second failure", async () => {
          const row = await queuedAgain();
          return row?.attempts === 2 ? row : undefined;
        });
        assert.equal(second.run_at, clock.now() + 1_500, "doubled, then capped at maxMs");

        clock.advance(1_500);
        await until("success", () => runner.counters()["test.record"]?.completed === 1);
        assert.deepEqual(attempts, [1, 2, 3]);
        assert.deepEqual(runner.counters(), {
          "test.record": { completed: 1, retried: 2, snoozed: 0, dead: 0 },
        });
        const done = await repository.findById(id);
        assert.equal(done?.attempts, 3);
        assert.equal(done?.finished_at, clock.now());
        assert.equal(done?.locked_by, null);
      }));

    it("a job whose runs all fail is dead-lettered after maxAttempts, keeping the last error", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const outcomes: string[] = [];
        let calls = 0;
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              maxAttempts: 3,
              backoff: { baseMs: 1, maxMs: 2 },
              async handler(_payload, ctx) {
                calls += 1;
                throw new Error(`boom ${ctx.attempt}`);
              },
            }),
          ],
          { onOutcome: (event) => outcomes.push(`${event.kind}:${event.outcome}:${event.attempt}`) },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        await until("the job to be dead", () => runner.counters()["test.record"]?.dead === 1);
        const row = await repository.findById(id);
        assert.ok(row?.status === "dead");
        assert.equal(row.attempts, 3);
        assert.equal(row.last_error, "Error: boom 3");
        assert.equal(typeof row.finished_at, "number");
        await runner.poll();
        assert.equal(calls, 3, "a dead job is not run again");
        assert.deepEqual(outcomes, ["test.record:retried:1", "test.record:retried:2", "test.record:dead:3"]);
        assert.equal((await runner.stats()).dead, 1);
      }));

    it("maxAttempts given at enqueue overrides the kind's", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        let calls = 0;
        const runner = makeRunner([
          defineJob({
            kind: "test.record",
            maxAttempts: 10,
            backoff: { baseMs: 1, maxMs: 1 },
            async handler() {
              calls += 1;
              throw new Error("no");
            },
          }),
        ]);
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 }, { maxAttempts: 1 });
        await until("the job to be dead", async () => (await repository.findById(id))?.status === "dead");
        assert.equal(calls, 1);
      }));

    it("a RetryLaterError reschedules the job after exactly its delay, not the backoff", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const clock = new TestClock();
        const attempts: number[] = [];
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              backoff: { baseMs: 1, maxMs: 1 },
              async handler(_payload, ctx) {
                attempts.push(ctx.attempt);
                if (ctx.attempt === 1) throw new RetryLaterError(120_000, "throttled (Retry-After: 120)");
              },
            }),
          ],
          { clock },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        const row = await until("the throttled run", async () => {
          const job = await repository.findById(id);
          return job?.status === "queued" && job.attempts === 1 ? job : undefined;
        });
        assert.equal(row.run_at, clock.now() + 120_000);
        assert.equal(row.last_error, "RetryLaterError: throttled (Retry-After: 120)");
        clock.advance(119_999);
        await runner.poll();
        assert.deepEqual(attempts, [1]);
        clock.advance(1);
        await until("the retry to succeed", async () => (await repository.findById(id))?.status === "done");
        assert.deepEqual(attempts, [1, 2]);
      }));

    it("a PermanentJobError dead-letters the job on that run, attempts left or not", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        let calls = 0;
        const runner = makeRunner([
          defineJob({
            kind: "test.record",
            maxAttempts: 5,
            async handler() {
              calls += 1;
              throw new PermanentJobError("the account was deleted");
            },
          }),
        ]);
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        const row = await until("the job to be dead", async () => {
          const job = await repository.findById(id);
          return job?.status === "dead" ? job : undefined;
        });
        assert.equal(row.attempts, 1);
        assert.equal(row.last_error, "PermanentJobError: the account was deleted");
        await runner.poll();
        assert.equal(calls, 1);
      }));

    it("at most `concurrency` handlers of a kind run at once in a process, and kinds do not share slots", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const release = gate();
        const current = { "test.record": 0, "test.other": 0 };
        const peak = { "test.record": 0, "test.other": 0 };
        const track = (kind: "test.record" | "test.other") => async () => {
          current[kind] += 1;
          peak[kind] = Math.max(peak[kind], current[kind]);
          await release.wait;
          await new Promise((resolve) => setImmediate(resolve));
          current[kind] -= 1;
        };
        const runner = makeRunner([
          defineJob({ kind: "test.record", concurrency: 3, handler: track("test.record") }),
          defineJob({ kind: "test.other", concurrency: 1, handler: track("test.other") }),
        ]);
        const ids: string[] = [];
        for (let n = 0; n < 10; n++) ids.push((await runner.enqueue("test.record", { n })).id);
        for (let n = 0; n < 4; n++) ids.push((await runner.enqueue("test.other", { n })).id);
        await runner.start();
        await until(
          "both kinds to fill their slots",
          () => current["test.record"] === 3 && current["test.other"] === 1,
        );
        await runner.poll();
        await runner.poll();
        assert.deepEqual(
          runner.running(),
          { "test.record": 3, "test.other": 1 },
          "full slots take no more jobs",
        );
        assert.deepEqual(await runner.stats(), { queued: 10, running: 4, done: 0, dead: 0 });
        release.open();
        await until("all jobs to finish", async () => (await runner.stats()).done === 14);
        assert.deepEqual(peak, { "test.record": 3, "test.other": 1 });
        for (const id of ids) assert.equal((await repository.findById(id))?.attempts, 1);
      }));

    it("two runners on one database never run the same job twice", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const runsById = new Map<string, string[]>();
        const definition = (name: string) =>
          defineJob({
            kind: "test.record",
            concurrency: 4,
            async handler(_payload, ctx) {
              runsById.set(ctx.jobId, [...(runsById.get(ctx.jobId) ?? []), name]);
              await new Promise((resolve) => setTimeout(resolve, 1 + Math.floor(Math.random() * 3)));
            },
          });
        const a = makeRunner([definition("a")], { pollIntervalMs: 1 });
        const b = makeRunner([definition("b")], { pollIntervalMs: 1, separateConnection: true });
        const total = 60;
        const ids: string[] = [];
        for (let n = 0; n < total; n++) ids.push((await a.enqueue("test.record", { n })).id);
        await Promise.all([a.start(), b.start()]);
        const completed = () =>
          [a.counters(), b.counters()].reduce((sum, c) => sum + (c["test.record"]?.completed ?? 0), 0);
        await until("all jobs to finish", () => completed() === total, 30_000);
        assert.equal((await a.stats()).done, total);
        for (const id of ids) {
          assert.equal(runsById.get(id)?.length, 1, `job ${id} ran ${runsById.get(id)?.length} times`);
          assert.equal((await repository.findById(id))?.attempts, 1);
        }
        assert.equal([...runsById.values()].flat().length, total);
      }));

    it("stop() waits for a running job to finish, and takes no new jobs meanwhile", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const release = gate();
        const started: number[] = [];
        // Real timers, watched: the drain timeout's timer is the sign that stop() is waiting.
        const delays: number[] = [];
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              async handler(payload) {
                started.push(payload.n);
                await release.wait;
              },
            }),
          ],
          {
            timers: {
              setTimeout: (callback, ms) => {
                delays.push(ms);
                return setTimeout(callback, ms);
              },
              clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
            },
          },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        await until("the job to start", () => started.length === 1);
        let stopped = false;
        const stopping = runner.stop({ drainTimeoutMs: 10_000 }).then(() => {
          stopped = true;
        });
        const later = await runner.enqueue("test.record", { n: 2 });
        await until("stop() to wait for the running job", () => delays.includes(10_000));
        assert.equal(stopped, false, "stop() is still draining");
        release.open();
        await stopping;
        assert.equal((await repository.findById(id))?.status, "done", "the running job finished");
        assert.deepEqual(started, [1]);
        assert.equal((await repository.findById(later.id))?.status, "queued", "no job taken while stopping");
      }));

    it("stop() gives up after its drain timeout: it aborts the handler's signal and leaves the job leased for another worker", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        let signal: AbortSignal | undefined;
        const runner = makeRunner([
          defineJob({
            kind: "test.record",
            async handler(_payload, ctx) {
              signal = ctx.signal;
              await new Promise(() => {}); // ignores the signal: the worst case
            },
          }),
        ]);
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        await until("the job to start", () => signal);
        const before = Date.now();
        await runner.stop({ drainTimeoutMs: 50 });
        assert.ok(Date.now() - before < 5_000, "stop() returned at its deadline");
        assert.equal(signal?.aborted, true);
        const row = await repository.findById(id);
        assert.equal(row?.status, "running");
        assert.equal(row?.locked_by, runner.workerId);
      }));

    it("a heartbeat keeps a long job's lease: another runner does not take it while it runs", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const runs: string[] = [];
        const release = gate();
        const definition = (name: string) =>
          defineJob({
            kind: "test.record",
            async handler() {
              runs.push(name);
              if (name === "a") await release.wait;
            },
          });
        // Ten beats per lease: only a stall of 450 ms would let the lease lapse.
        const a = makeRunner([definition("a")], { leaseMs: 500, heartbeatIntervalMs: 50 });
        const { id } = await a.enqueue("test.record", { n: 1 });
        await a.start();
        await until("runner a to take the job", () => runs.length === 1);
        const firstLease = (await repository.findById(id))!.locked_until!;
        const b = makeRunner([definition("b")], { leaseMs: 500, separateConnection: true });
        await b.start();
        // Heartbeats carried the lease three lengths past the first one: the job has run that long.
        await until(
          "heartbeats to extend the lease by three lease lengths",
          async () => ((await repository.findById(id))?.locked_until ?? 0) >= firstLease + 1_500,
          5_000,
        );
        assert.equal(await b.poll(), 0, "a claim cycle of b after that finds nothing to take");
        release.open();
        await until(
          "the job to finish",
          async () => (await repository.findById(id))?.status === "done",
          5_000,
        );
        assert.deepEqual(runs, ["a"], "three lease lengths later, b never took the job");
        assert.equal((await repository.findById(id))?.attempts, 1);
      }));

    it("a run whose lease was taken over cannot record its outcome, and its signal is aborted", () =>
      withJobs(async ({ runner: makeRunner, repository, storage }) => {
        const clock = new TestClock();
        const release = gate();
        let firstSignal: AbortSignal | undefined;
        const runs: number[] = [];
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              concurrency: 2,
              async handler(_payload, ctx) {
                runs.push(ctx.attempt);
                if (ctx.attempt === 1) {
                  firstSignal = ctx.signal;
                  await release.wait;
                }
              },
            }),
          ],
          { clock, leaseMs: 1_000, heartbeatIntervalMs: 20 },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.record", { n: 1 });
        await until("the first run", () => firstSignal);
        // Simulates a stall longer than the lease: the job is taken over by another worker.
        await storage.db
          .updateTable("jobs")
          .set({ locked_by: "someone-else", attempts: 2, locked_until: clock.now() + 60_000 })
          .where("id", "=", id)
          .execute();
        await until("the heartbeat to notice", () => firstSignal?.aborted);
        release.open();
        await until("the first run to end", () => Object.keys(runner.running()).length === 0);
        const row = await repository.findById(id);
        assert.equal(row?.status, "running", "the stale run did not mark the job done");
        assert.equal(row?.locked_by, "someone-else");
        assert.deepEqual(runner.counters(), {});
      }));

    it("a job whose lease expired with no attempts left is dead-lettered instead of run again", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const clock = new TestClock();
        let calls = 0;
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.record",
              async handler() {
                calls += 1;
              },
            }),
          ],
          { clock },
        );
        const now = clock.now();
        const id = newId();
        await repository.insert({
          id,
          kind: "test.record",
          payload: "{}",
          idempotency_key: null,
          exclusive_key: null,
          claims: 3,
          status: "running",
          run_at: now - 10_000,
          attempts: 3,
          max_attempts: 3,
          locked_by: "a-dead-worker",
          locked_until: now - 1,
          last_error: null,
          created_at: now - 10_000,
          updated_at: now - 10_000,
          finished_at: null,
        });
        await runner.start();
        await runner.poll();
        const row = await repository.findById(id);
        assert.equal(row?.status, "dead");
        assert.match(row?.last_error ?? "", /stopped reporting/);
        assert.equal(calls, 0);
        assert.equal(runner.counters()["test.record"]?.dead, 1);
      }));

    it("logs carry the job's kind, id and attempt but never its payload", () =>
      withJobs(async ({ runner: makeRunner, repository }) => {
        const log = capturingLog();
        const secret = `tok_${newId()}`;
        const runner = makeRunner(
          [
            defineJob({
              kind: "test.secret",
              maxAttempts: 2,
              backoff: { baseMs: 1, maxMs: 1 },
              async handler(payload, ctx) {
                ctx.log.info({ step: "calling graph" }, "working");
                if (ctx.attempt === 1) throw new Error("transient");
                assert.equal(payload.accessToken, secret);
              },
            }),
          ],
          { log },
        );
        await runner.start();
        const { id } = await runner.enqueue("test.secret", { accessToken: secret });
        await until("the job to finish", async () => (await repository.findById(id))?.status === "done");
        await runner.stop();
        const text = JSON.stringify(log.lines);
        assert.ok(!text.includes(secret), "the payload never reaches the log");
        const retried = log.lines.find((line) => line.msg === "job failed; will retry");
        assert.deepEqual(
          { ...retried?.obj, retryInMs: 0 },
          { jobId: id, kind: "test.secret", attempt: 1, error: "transient", retryInMs: 0 },
        );
        const handlerLine = log.lines.find((line) => line.msg === "working");
        assert.deepEqual(handlerLine?.obj, {
          jobId: id,
          kind: "test.secret",
          attempt: 1,
          step: "calling graph",
        });
      }));

    it("enqueue refuses contradictory or out-of-range options before touching the database", () =>
      withJobs(async ({ runner: makeRunner }) => {
        const runner = makeRunner([]);
        await assert.rejects(runner.enqueue("test.record", { n: 1 }, { runAt: 1, delayMs: 1 }), TypeError);
        await assert.rejects(runner.enqueue("test.record", { n: 1 }, { delayMs: -1 }), RangeError);
        await assert.rejects(runner.enqueue("test.record", { n: 1 }, { maxAttempts: 0 }), RangeError);
        await assert.rejects(
          runner.enqueue("test.record", { n: 1 }, { idempotencyKey: "k".repeat(301) }),
          RangeError,
        );
        assert.deepEqual(await runner.stats(), { queued: 0, running: 0, done: 0, dead: 0 });
      }));
  });
}
