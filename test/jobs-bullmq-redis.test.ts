// The BullMQ runner when Redis is unreachable or restarts (a private redis-server with an append-only
// file on a free port), and the warnings about Redis's configuration.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisUnavailableError } from "../src/jobs/bullmq-runner.ts";
import { createJobRegistry, defineJob } from "../src/jobs/queue.ts";
import { redisConfigWarnings } from "../src/jobs/redis-health.ts";
import { bullFixture } from "./fixtures/bullmq-helpers.ts";
import { type PrivateRedis, startPrivateRedis } from "./support/redis.ts";
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

describe("BullMQ runner without Redis", () => {
  it("ready() reports whether Redis answers, and an enqueue outside a transaction rejects clearly when it does not", async () => {
    const fx = await bullFixture("sqlite", "redis://127.0.0.1:1");
    try {
      const runner = fx.runner(createJobRegistry(), { connectTimeoutMs: 200 });
      assert.equal(await runner.ready(), false);
      await assert.rejects(runner.enqueue("bull.a", { n: 1 }), (error: unknown) => {
        assert.ok(error instanceof RedisUnavailableError);
        assert.match(
          error.message,
          /Redis at redis:\/\/127\.0\.0\.1:1 is unreachable .*the job was not enqueued/,
        );
        return true;
      });
      const inTx = await fx.storage.transaction((tx) =>
        runner.enqueue("bull.a", { n: 1 }, { transaction: tx }),
      );
      assert.equal(inTx.created, true, "a transactional enqueue needs only the database");
      assert.equal(await runner.relayBacklog(), 1, "its row waits for Redis");
    } finally {
      await fx.dispose().catch(() => undefined);
    }
  });
});

describe("BullMQ runner across a Redis restart", () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
  });
  after(async () => {
    await redis.dispose();
  });

  it("jobs enqueued before the restart run after it, and transactional enqueues made during it are relayed", async () => {
    const fx = await bullFixture("sqlite", redis.url);
    try {
      const runs: number[] = [];
      const runner = fx.runner(createJobRegistry(recorder(runs)), { connectTimeoutMs: 300 });
      for (let n = 1; n <= 5; n++) await runner.enqueue("bull.a", { n }, { delayMs: 1_500 });
      await runner.start();
      assert.equal(await runner.ready(), true);
      await redis.stop();
      await until("ready() to notice", async () => !(await runner.ready()));
      await assert.rejects(runner.enqueue("bull.a", { n: 99 }), RedisUnavailableError);
      await fx.storage.transaction((tx) => runner.enqueue("bull.a", { n: 6 }, { transaction: tx }));
      await pause(200);
      assert.equal(await runner.relayBacklog(), 1, "the row waits while Redis is down");
      await redis.start();
      await until("every job to run after the restart", () => runs.length === 6, 20_000);
      assert.deepEqual(
        runs.sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6],
      );
      await until("the relay row to be gone", async () => (await runner.relayBacklog()) === 0);
    } finally {
      await fx.dispose();
    }
  });

  it("stop() returns while Redis is down, aborting what it cannot drain", async () => {
    const fx = await bullFixture("sqlite", redis.url);
    try {
      let signal: AbortSignal | undefined;
      const runner = fx.runner(
        createJobRegistry([
          defineJob({
            kind: "bull.a",
            async handler(_p, ctx) {
              signal = ctx.signal;
              await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
            },
          }),
        ]),
      );
      await runner.start();
      await runner.enqueue("bull.a", { n: 1 });
      await until("the job to start", () => signal !== undefined);
      await redis.stop();
      const stopping = Date.now();
      await runner.stop({ drainTimeoutMs: 200 });
      assert.ok(signal?.aborted, "the running handler was told to stop");
      assert.ok(Date.now() - stopping < 5_000, "stop() did not wait for Redis");
    } finally {
      await redis.start();
      await fx.dispose();
    }
  });
});

describe("Redis configuration warnings", () => {
  const cases: { config: Record<string, string>; warns: RegExp[] }[] = [
    { config: { appendonly: "yes", save: "", "maxmemory-policy": "noeviction" }, warns: [] },
    { config: { appendonly: "no", save: "3600 1 300 100", "maxmemory-policy": "noeviction" }, warns: [] },
    {
      config: { appendonly: "no", save: "", "maxmemory-policy": "noeviction" },
      warns: [/loses every queued job/],
    },
    {
      config: { appendonly: "yes", save: "", "maxmemory-policy": "allkeys-lru" },
      warns: [/allkeys-lru.*noeviction/],
    },
    { config: {}, warns: [] },
  ];
  for (const { config, warns } of cases)
    it(`${JSON.stringify(config)} → ${warns.length} warning(s)`, () => {
      const found = redisConfigWarnings(config);
      assert.equal(found.length, warns.length);
      for (const [i, pattern] of warns.entries()) assert.match(found[i] ?? "", pattern);
    });
});
