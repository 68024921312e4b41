// The limits' pure decisions (shared by the in-process and the Redis implementations), the in-process
// per-mailbox limiter against the limiter contract, and the in-process sliding window.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  admitsNewcomer,
  clampWeight,
  grantsFromHead,
  SlidingWindowLimiter,
  slidingWindowRetryAfterMs,
} from "../src/lib/limits.ts";
import { KeyedLimiter } from "../src/providers/microsoft/limiter.ts";
import { limiterContract } from "./support/limiter-contract.ts";

describe("limits: the grant decision", () => {
  const newcomers: [inUse: number, queued: number, weight: number, admitted: boolean][] = [
    [0, 0, 1, true],
    [3, 0, 1, true],
    [4, 0, 1, false],
    [2, 0, 2, true],
    [2, 0, 3, false],
    [0, 0, 4, true],
    // FIFO: a queued caller is never overtaken, even by one that would fit.
    [0, 1, 1, false],
    [1, 3, 1, false],
  ];
  for (const [inUse, queued, weight, admitted] of newcomers)
    it(`a newcomer of weight ${weight} with ${inUse} in use and ${queued} queued is ${admitted ? "admitted" : "queued"}`, () => {
      assert.equal(admitsNewcomer(inUse, queued, weight, 4), admitted);
    });

  const heads: [inUse: number, queued: number[], granted: number][] = [
    [0, [], 0],
    [4, [1], 0],
    [3, [1, 1], 1],
    [0, [1, 1, 1, 1, 1], 4],
    [0, [2, 2, 1], 2],
    // A head that does not fit blocks the lighter callers behind it.
    [2, [3, 1], 0],
    [1, [2, 2], 1],
    [0, [4, 1], 1],
  ];
  for (const [inUse, queued, granted] of heads)
    it(`with ${inUse} in use, the queue [${queued}] gets ${granted} grant(s) from its head`, () => {
      assert.equal(grantsFromHead(inUse, queued, 4), granted);
    });

  const weights: [weight: number, counted: number][] = [
    [1, 1],
    [3, 3],
    [4, 4],
    [20, 4],
    [0, 1],
    [-2, 1],
    [2.7, 2],
    [Number.NaN, 1],
  ];
  for (const [weight, counted] of weights)
    it(`counts a weight of ${weight} as ${counted} slot(s)`, () => {
      assert.equal(clampWeight(weight, 4), counted);
    });
});

describe("limits: the in-process per-mailbox limiter (KeyedLimiter)", () => {
  limiterContract(() => {
    const limiter = new KeyedLimiter(4);
    return {
      limiter,
      queued: async (key) => limiter.queued(key),
      inUse: async (key) => limiter.inUse(key),
    };
  });
});

describe("limits: the sliding window", () => {
  const policy = { limit: 3, windowMs: 1_000 };
  const cases: [times: number[], now: number, waitMs: number][] = [
    [[], 5_000, 0],
    [[4_100, 4_200], 5_000, 0],
    [[4_100, 4_200, 4_300], 5_000, 100],
    [[4_100, 4_200, 4_300, 4_900], 5_000, 200],
    // An event exactly one window old no longer counts.
    [[4_000, 4_200, 4_300], 5_000, 0],
    [[3_000, 3_500, 3_900], 5_000, 0],
  ];
  for (const [times, now, waitMs] of cases)
    it(`after events at [${times}], at ${now} the wait is ${waitMs} ms`, async () => {
      assert.equal(slidingWindowRetryAfterMs(times, now, policy), waitMs);
      const limiter = new SlidingWindowLimiter(policy);
      for (const t of times) await limiter.hit("k", t);
      assert.equal(await limiter.retryAfterMs("k", now), waitMs);
    });

  it("reset forgets a key's events and leaves other keys alone", async () => {
    const limiter = new SlidingWindowLimiter(policy);
    for (const t of [1, 2, 3]) {
      await limiter.hit("a", t);
      await limiter.hit("b", t);
    }
    await limiter.reset("a");
    assert.equal(await limiter.retryAfterMs("a", 10), 0);
    assert.equal(await limiter.retryAfterMs("b", 10), 991);
  });
});
