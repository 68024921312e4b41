// What the JobQueue contract cannot show with real time, on the embedded runner with a test clock:
// a lapsed lease frees an exclusive key, and a recurring job catches up with one slot, not many.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineJob } from "../src/jobs/queue.ts";
import { TestClock } from "../src/lib/clock.ts";
import { type JobsFixture, jobsFixture } from "./fixtures/jobs-helpers.ts";
import { dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

declare module "../src/jobs/queue.ts" {
  interface JobPayloads {
    "test.keyed": { n: number };
    "test.idle": { n: number };
  }
}

for (const dialect of dialects()) {
  describe(`job keys and schedules on ${dialect}`, () => {
    async function withJobs(test: (f: JobsFixture) => Promise<void>): Promise<void> {
      const fixture = await jobsFixture(dialect);
      try {
        await test(fixture);
      } finally {
        await fixture.dispose();
      }
    }

    it("a key held by a run whose lease lapsed is free again: the waiting job runs once the lease has passed", () =>
      withJobs(async ({ runner: makeRunner, storage, repository }) => {
        const clock = new TestClock();
        const runs: number[] = [];
        const runner = makeRunner(
          [defineJob({ kind: "test.keyed", handler: async (p) => void runs.push(p.n) })],
          { clock },
        );
        // A worker that died while running a job holding the key: its lock lapses with its lease.
        await storage.db
          .insertInto("job_locks")
          .values({ key: "account:1", job_id: "a-dead-workers-job", locked_until: clock.now() + 30_000 })
          .execute();
        const { id } = await runner.enqueue("test.keyed", { n: 1 }, { exclusiveKey: "account:1" });
        await runner.start();
        await runner.poll();
        assert.deepEqual(runs, [], "the key is held");
        assert.equal((await repository.findById(id))?.attempts, 0, "waiting spent no attempt");
        clock.advance(30_001);
        await until("the waiting job to run", () => runs.length === 1);
        await until("its outcome to release the key", async () => {
          const locks = await storage.db.selectFrom("job_locks").selectAll().execute();
          return locks.length === 0;
        });
      }));

    it("a recurring job whose runner was down for many slots enqueues only the current slot, at its offset", () =>
      withJobs(async ({ runner: makeRunner, storage }) => {
        const clock = new TestClock(1_000_000);
        const runner = makeRunner([defineJob({ kind: "test.keyed", handler: async () => {} })], { clock });
        await runner.schedule({
          name: "every-second",
          kind: "test.keyed",
          payload: { n: 1 },
          everyMs: 1_000,
          offsetMs: 300,
        });
        const jobs = () =>
          storage.db.selectFrom("jobs").select(["run_at", "idempotency_key"]).orderBy("run_at").execute();
        await runner.start();
        await until("the current slot to be enqueued", async () => (await jobs()).length === 1);
        assert.deepEqual(await jobs(), [
          { run_at: 999_300, idempotency_key: "schedule:every-second:999300" },
        ]);
        await runner.stop();

        clock.advance(10_500); // ten slots pass while no runner polls
        const next = makeRunner([defineJob({ kind: "test.keyed", handler: async () => {} })], { clock });
        await next.start();
        await next.poll();
        // start() may have begun a poll that the explicit one only joins: wait for the slot's job.
        await until("the slot due now to be enqueued", async () => (await jobs()).length >= 2);
        assert.deepEqual(
          (await jobs()).map((j) => j.run_at),
          [999_300, 1_010_300],
          "one job, for the slot that is due now",
        );
        const schedule = await storage.db.selectFrom("job_schedules").selectAll().executeTakeFirst();
        assert.equal(schedule?.next_run_at, 1_011_300);
        await next.poll();
        assert.equal((await jobs()).length, 2, "a slot is enqueued once");
      }));

    it("a recurring slot is skipped while the previous slot's job has not started, instead of piling up", () =>
      withJobs(async ({ runner: makeRunner, storage }) => {
        const clock = new TestClock(1_000_000);
        // This runner enqueues slots but handles another kind, so the slots' jobs stay queued.
        const runner = makeRunner([defineJob({ kind: "test.idle", handler: async () => {} })], { clock });
        await runner.schedule({ name: "behind", kind: "test.keyed", payload: { n: 1 }, everyMs: 1_000 });
        const jobs = () => storage.db.selectFrom("jobs").select(["id", "status"]).orderBy("run_at").execute();
        await runner.start();
        await until("the first slot's job", async () => (await jobs()).length === 1);
        clock.advance(1_000);
        await runner.poll();
        clock.advance(1_000);
        await runner.poll();
        const [first] = await jobs();
        assert.equal((await jobs()).length, 1, "no second job while the first waits");
        await storage.db
          .updateTable("jobs")
          .set({ status: "done" })
          .where("id", "=", first?.id ?? "")
          .execute();
        clock.advance(1_000);
        await runner.poll();
        assert.equal((await jobs()).length, 2, "the next slot after the job ran is enqueued");
      }));
  });
}
