// The JobQueue contract, continued: exclusive keys and recurring jobs, which need a second queue on
// the same backend (another process) to be proven.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createJobRegistry, defineJob, type JobContext, recurringSlot } from "../../src/jobs/queue.ts";
import { type ContractRunner, gate, quietFor } from "./job-contract-kit.ts";
import { until } from "./until.ts";

/** Counts handlers holding each key, and the most that ever held one at once. */
function keyWatch() {
  const holding = new Map<string, number>();
  const most = new Map<string, number>();
  return {
    most,
    async hold(key: string, work: () => Promise<void>): Promise<void> {
      const now = (holding.get(key) ?? 0) + 1;
      holding.set(key, now);
      most.set(key, Math.max(most.get(key) ?? 0, now));
      try {
        await work();
      } finally {
        holding.set(key, (holding.get(key) ?? 1) - 1);
      }
    },
  };
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function describeExclusiveAndRecurringContract(name: string, withQueue: ContractRunner): void {
  describe(`JobQueue contract: ${name}: exclusive keys`, () => {
    it("jobs sharing an exclusive key never overlap, across kinds; other keys run meanwhile; a waiting job spends no attempt", () => {
      const watch = keyWatch();
      const first = gate();
      const started: { n: number; attempt: number }[] = [];
      const keyOf = (n: number) => (n === 3 ? "contract:j" : "contract:k");
      const handler = (n: number, ctx: JobContext) =>
        watch.hold(keyOf(n), async () => {
          started.push({ n, attempt: ctx.attempt });
          if (n === 1) await first.wait;
        });
      return withQueue(
        [
          defineJob({ kind: "contract.a", concurrency: 3, handler: (p, ctx) => handler(p.n, ctx) }),
          defineJob({ kind: "contract.b", concurrency: 1, handler: (p, ctx) => handler(p.n, ctx) }),
        ],
        async ({ queue }) => {
          await queue.start();
          await queue.enqueue("contract.a", { n: 1 }, { exclusiveKey: keyOf(1) });
          await until("the key holder to start", () => started.length === 1);
          await queue.enqueue("contract.a", { n: 2 }, { exclusiveKey: keyOf(2) });
          await queue.enqueue("contract.a", { n: 3 }, { exclusiveKey: keyOf(3) });
          await queue.enqueue("contract.b", { n: 4 }, { exclusiveKey: keyOf(4) });
          await until("the job with another key to run beside the holder", () =>
            started.some((s) => s.n === 3),
          );
          await quietFor(250, "no job with the held key starts", () => started.length === 2);
          first.open();
          await until("every job to be done", async () => (await queue.stats()).done === 4);
          assert.equal(watch.most.get("contract:k"), 1, "the key was never held twice");
          assert.deepEqual(
            started.map((s) => s.attempt),
            [1, 1, 1, 1],
            "waiting for the key spent no attempt",
          );
        },
      );
    });

    it("two queues on one backend never run jobs with the same exclusive key at once", () => {
      const watch = keyWatch();
      const attempts: number[] = [];
      const definitions = () => [
        defineJob({
          kind: "contract.a",
          concurrency: 4,
          handler: (p, ctx) =>
            watch.hold(p.n % 3 === 0 ? "contract:j" : "contract:k", async () => {
              attempts.push(ctx.attempt);
              await pause(25);
            }),
        }),
      ];
      return withQueue(definitions(), async ({ queue, peer }) => {
        const other = await peer(createJobRegistry(definitions()));
        for (let n = 1; n <= 12; n++)
          await queue.enqueue(
            "contract.a",
            { n },
            { exclusiveKey: n % 3 === 0 ? "contract:j" : "contract:k" },
          );
        await Promise.all([queue.start(), other.start()]);
        await until("every job to be done", async () => (await queue.stats()).done === 12, 20_000);
        assert.equal(watch.most.get("contract:k"), 1, "key k was never held by two runs");
        assert.equal(watch.most.get("contract:j"), 1, "key j was never held by two runs");
        assert.ok(
          attempts.every((a) => a === 1),
          "no job spent an attempt waiting",
        );
      });
    });
  });

  describe(`JobQueue contract: ${name}: recurring jobs`, () => {
    it("a recurring job declared by two queues runs once per slot", () => {
      const everyMs = 200;
      const runs: string[] = [];
      const definitions = () => [
        defineJob({ kind: "contract.a", handler: async (_p, ctx) => void runs.push(ctx.jobId) }),
      ];
      return withQueue(definitions(), async ({ queue, peer }) => {
        const other = await peer(createJobRegistry(definitions()));
        await Promise.all([queue.start(), other.start()]);
        const declaredAt = Date.now();
        const recurring = { name: "contract.every", kind: "contract.a", payload: { n: 1 }, everyMs } as const;
        await Promise.all([queue.schedule(recurring), other.schedule(recurring)]);
        await until("four slots to run", () => runs.length >= 4);
        const now = Date.now();
        // The slots that fell between the declaration (its current slot included) and now.
        const slots = Math.floor(now / everyMs) - Math.floor(declaredAt / everyMs) + 1;
        assert.ok(runs.length <= slots, `${runs.length} runs in ${slots} slots`);
        assert.equal(new Set(runs).size, runs.length, "each run is its own job");
        await Promise.all([queue.unschedule(recurring.name), other.unschedule(recurring.name)]);
      });
    });

    it('a recurring job declared with firstSlot "next" first runs at its next slot, not at once', () => {
      const runsAt: number[] = [];
      return withQueue(
        [defineJob({ kind: "contract.a", handler: async () => void runsAt.push(Date.now()) })],
        async ({ queue }) => {
          await queue.start();
          const recurring = {
            name: "contract.next",
            kind: "contract.a",
            payload: { n: 1 },
            everyMs: 600,
            firstSlot: "next",
          } as const;
          const { nextAt } = recurringSlot(recurring, Date.now());
          await queue.schedule(recurring);
          await until("the next slot to run", () => runsAt.length >= 1);
          await queue.unschedule(recurring.name);
          assert.ok(runsAt[0]! >= nextAt - 5, `ran ${nextAt - runsAt[0]!} ms before its next slot`);
        },
      );
    });

    it("declaring a recurring job again replaces its period and payload; unschedule stops it", () => {
      const runs: number[] = [];
      return withQueue(
        [defineJob({ kind: "contract.a", handler: async (p) => void runs.push(p.n) })],
        async ({ queue }) => {
          await queue.start();
          await queue.schedule({
            name: "contract.replaced",
            kind: "contract.a",
            payload: { n: 1 },
            everyMs: 3_600_000,
          });
          await queue.schedule({
            name: "contract.replaced",
            kind: "contract.a",
            payload: { n: 2 },
            everyMs: 100,
          });
          await until("three runs at the new period", () => runs.filter((n) => n === 2).length >= 3);
          await queue.unschedule("contract.replaced");
          const atUnschedule = runs.length;
          // A slot already enqueued when unschedule ran may still run; no slot after it does.
          await quietFor(600, "no more slots after unschedule", () => runs.length <= atUnschedule + 1);
          assert.ok(runs.filter((n) => n === 1).length <= 1, "the old period's payload ran at most once");
        },
      );
    });

    it("recurring jobs refuse impossible periods before touching the backend", () =>
      withQueue([defineJob({ kind: "contract.a", handler: async () => {} })], async ({ queue }) => {
        const base = { name: "contract.bad", kind: "contract.a", payload: { n: 1 } } as const;
        await assert.rejects(queue.schedule({ ...base, everyMs: 0 }), RangeError);
        await assert.rejects(queue.schedule({ ...base, everyMs: 100, offsetMs: 100 }), RangeError);
        await assert.rejects(queue.schedule({ ...base, name: "", everyMs: 100 }), RangeError);
      }));
  });
}
