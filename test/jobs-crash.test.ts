// Jobs survive `kill -9`: a child process enqueues (and maybe claims) a job, the test SIGKILLs it, and
// a runner in this process then runs the job exactly once. On every dialect.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defineJob } from "../src/jobs/queue.ts";
import { newId } from "../src/lib/ids.ts";
import type { DatabaseConfig } from "../src/storage/db.ts";
import { type JobsFixture, jobsFixture } from "./fixtures/jobs-helpers.ts";
import { dialects } from "./support/databases.ts";
import { until } from "./support/until.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHILD_LEASE_MS = 400;

interface ChildEvent {
  event: "enqueued" | "running";
  jobId: string;
  workerId: string;
}

/** Starts the crash worker; resolves once it reported the job enqueued ("enqueue") or running ("claim"). */
async function startWorker(
  databaseConfig: DatabaseConfig,
  mode: "claim" | "enqueue",
  idempotencyKey: string,
): Promise<{ child: ChildProcess; event: ChildEvent }> {
  const args = JSON.stringify({ database: databaseConfig, mode, idempotencyKey, leaseMs: CHILD_LEASE_MS });
  const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/jobs-crash-worker.ts", args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: ChildEvent[] = [];
  let stderr = "";
  let buffer = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      events.push(JSON.parse(buffer.slice(0, newline)) as ChildEvent);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const awaited = mode === "claim" ? "running" : "enqueued";
  try {
    const event = await until(
      `the worker to report "${awaited}"`,
      () => {
        if (child.exitCode !== null) throw new Error(`The worker exited (${child.exitCode}): ${stderr}`);
        return events.find((e) => e.event === awaited);
      },
      20_000,
    );
    return { child, event };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  const [code, signal] = (await exited) as [number | null, string | null];
  assert.equal(signal, "SIGKILL", `the worker was killed, not exited (code ${code})`);
}

for (const dialect of dialects()) {
  describe(`jobs after a crash on ${dialect}`, () => {
    async function withJobs(test: (f: JobsFixture) => Promise<void>): Promise<void> {
      const fixture = await jobsFixture(dialect);
      try {
        await test(fixture);
      } finally {
        await fixture.dispose();
      }
    }

    function countingDefinition(runs: string[]) {
      return defineJob({
        kind: "test.crash",
        async handler(payload, ctx) {
          assert.equal(payload.note, "crash test");
          runs.push(ctx.jobId);
        },
      });
    }

    it("a job claimed by a process killed with SIGKILL runs exactly once after its lease expires, and its key still names it", () =>
      withJobs(async (fixture) => {
        const { repository } = fixture;
        const key = `crash:${newId()}`;
        const { child, event } = await startWorker(fixture.databaseConfig, "claim", key);
        await kill9(child);

        const orphan = await repository.findById(event.jobId);
        assert.equal(orphan?.status, "running", "the dead worker still holds the job");
        assert.equal(orphan?.locked_by, event.workerId);
        assert.equal(orphan?.attempts, 1);

        const runs: string[] = [];
        const runner = fixture.runner([countingDefinition(runs)], { leaseMs: 2_000 });
        await runner.start();
        const done = await until(
          "the orphaned job to be reclaimed and finished",
          async () => {
            const row = await repository.findById(event.jobId);
            return row?.status === "done" ? row : undefined;
          },
          15_000,
        );
        assert.deepEqual(runs, [event.jobId], "run exactly once in the new runner");
        assert.equal(done.attempts, 2, "the killed run counted as an attempt");
        assert.equal(done.locked_by, null);

        const again = await runner.enqueue("test.crash", { note: "crash test" }, { idempotencyKey: key });
        assert.deepEqual(again, { id: event.jobId, created: false });
        await runner.poll();
        assert.deepEqual(runs, [event.jobId], "enqueueing the same key again did not run it again");
        assert.deepEqual(await runner.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
      }));

    it("a job enqueued by a process killed before running it runs once in the next runner", () =>
      withJobs(async (fixture) => {
        const { repository } = fixture;
        const key = `crash:${newId()}`;
        const { child, event } = await startWorker(fixture.databaseConfig, "enqueue", key);
        await kill9(child);
        assert.equal((await repository.findById(event.jobId))?.status, "queued");

        const runs: string[] = [];
        const runner = fixture.runner([countingDefinition(runs)]);
        const again = await runner.enqueue("test.crash", { note: "crash test" }, { idempotencyKey: key });
        assert.deepEqual(again, { id: event.jobId, created: false }, "the key survived the crash");
        await runner.start();
        await until(
          "the job to finish",
          async () => (await repository.findById(event.jobId))?.status === "done",
        );
        await runner.poll();
        assert.deepEqual(runs, [event.jobId]);
        assert.equal((await repository.findById(event.jobId))?.attempts, 1);
      }));
  });
}
