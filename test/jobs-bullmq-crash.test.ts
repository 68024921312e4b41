// A BullMQ job survives `kill -9` of the process running it: once the dead worker's BullMQ lock and its
// exclusive key's lease lapse, a runner in another process takes the job and runs it to completion.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createJobRegistry, defineJob } from "../src/jobs/queue.ts";
import { bullFixture } from "./fixtures/bullmq-helpers.ts";
import { REDIS_URL } from "./support/redis.ts";
import { until } from "./support/until.ts";

declare module "../src/jobs/queue.ts" {
  interface JobPayloads {
    "bull.crash": { note: string };
  }
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("BullMQ jobs after a crash", () => {
  it("a job whose process was killed mid-run is run by another process once its lock and exclusive lease lapse", async () => {
    const fx = await bullFixture("sqlite");
    const args = JSON.stringify({
      redisUrl: REDIS_URL,
      prefix: fx.prefix,
      sqlitePath: fx.storage.location,
      lockDurationMs: 1_000,
      exclusiveLeaseMs: 1_500,
    });
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/bullmq-crash-worker.ts", args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let output = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk;
      });
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      const running = await until(
        "the child to run the job",
        () => {
          if (child.exitCode !== null) throw new Error(`The child exited (${child.exitCode}): ${stderr}`);
          return output
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line) as { event: string; jobId: string })
            .find((e) => e.event === "running");
        },
        20_000,
      );
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;

      const ran: { jobId: string; at: number }[] = [];
      const killedAt = Date.now();
      const runner = fx.runner(
        createJobRegistry([
          defineJob({
            kind: "bull.crash",
            handler: async (_p, ctx) => void ran.push({ jobId: ctx.jobId, at: Date.now() }),
          }),
        ]),
        { lockDurationMs: 1_000, stalledIntervalMs: 300 },
      );
      await runner.start();
      await until("the job to run again in this process", () => ran.length === 1, 20_000);
      assert.equal(ran[0]?.jobId, running.jobId);
      assert.ok((ran[0]?.at ?? 0) - killedAt >= 900, "not before the dead worker's lock lapsed");
      await until("the job to be done", async () => (await runner.stats()).done === 1);
      assert.deepEqual(await runner.stats(), { queued: 0, running: 0, done: 1, dead: 0 });
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await fx.dispose();
    }
  });
});
