// One behaviour suite for both per-mailbox limiters: the in-process KeyedLimiter and the Redis one.
// What it protects is the contract the Graph client relies on: at most 4 slots per key, first come
// first served, weights counted, an aborted waiter leaves the queue, keys independent.
import assert from "node:assert/strict";
import { it } from "node:test";
import type { ConcurrencyLimiter, Release } from "../../src/lib/limits.ts";
import { until } from "./until.ts";

export interface LimiterUnderTest {
  limiter: ConcurrencyLimiter;
  /** How many callers wait for `key` (read from the implementation's own state). */
  queued(key: string): Promise<number>;
  /** Slots of `key` held now. */
  inUse(key: string): Promise<number>;
}

export function limiterContract(make: () => LimiterUnderTest): void {
  let n = 0;
  const freshKey = () => `mailbox-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  /** Starts an acquisition and waits until it is queued, so the order of arrival is known. */
  async function enqueue(
    t: LimiterUnderTest,
    key: string,
    weight: number,
    granted: string[],
    name: string,
    signal?: AbortSignal,
  ): Promise<{ granted: Promise<Release> }> {
    const before = await t.queued(key);
    const pending = t.limiter.acquire(key, weight, signal).then((release) => {
      granted.push(name);
      return release;
    });
    pending.catch(() => {});
    await until(`${name} queued`, async () => (await t.queued(key)) === before + 1);
    // Wrapped: an async function returning the promise itself would wait for the grant.
    return { granted: pending };
  }

  it("never lets more than 4 tasks of one key run at once, and does run 4", async () => {
    const t = make();
    const key = freshKey();
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        t.limiter.run(key, async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 5 + (i % 3) * 5));
          running--;
        }),
      ),
    );
    assert.equal(peak, 4);
  });

  it("grants waiters in their order of arrival, one release at a time", async () => {
    const t = make();
    const key = freshKey();
    const holders = await Promise.all([1, 2, 3, 4].map(() => t.limiter.acquire(key)));
    const granted: string[] = [];
    const { granted: a } = await enqueue(t, key, 1, granted, "a");
    const { granted: b } = await enqueue(t, key, 1, granted, "b");
    const { granted: c } = await enqueue(t, key, 1, granted, "c");
    holders[0]!();
    const releaseA = await a;
    assert.deepEqual(granted, ["a"]);
    holders[1]!();
    await b;
    assert.deepEqual(granted, ["a", "b"]);
    holders[2]!();
    const releaseC = await c;
    assert.deepEqual(granted, ["a", "b", "c"]);
    for (const release of [holders[3]!, releaseA, await b, releaseC]) release();
  });

  it("counts weights: a $batch of weight 3 waits until 3 slots are free, and a later light caller does not overtake it", async () => {
    const t = make();
    const key = freshKey();
    const first = await t.limiter.acquire(key, 2);
    const second = await t.limiter.acquire(key, 1);
    const granted: string[] = [];
    const { granted: heavy } = await enqueue(t, key, 3, granted, "heavy");
    const { granted: light } = await enqueue(t, key, 1, granted, "light");
    second();
    // 2 slots in use, 2 free: the light caller would fit, but the heavy one is ahead of it.
    await until("the released slot is counted", async () => (await t.inUse(key)) === 2);
    assert.equal(await t.queued(key), 2);
    // A newcomer that would fit queues too.
    const { granted: newcomer } = await enqueue(t, key, 1, granted, "newcomer");
    assert.deepEqual(granted, []);
    first();
    const [releaseHeavy, releaseLight] = await Promise.all([heavy, light]);
    assert.deepEqual(granted, ["heavy", "light"]);
    assert.equal(await t.inUse(key), 4);
    releaseLight!();
    (await newcomer)();
    assert.deepEqual(granted, ["heavy", "light", "newcomer"]);
    releaseHeavy!();
  });

  it("counts a weight above the limit as the whole limit instead of waiting forever", async () => {
    const t = make();
    const key = freshKey();
    const release = await t.limiter.acquire(key, 10);
    const granted: string[] = [];
    const { granted: next } = await enqueue(t, key, 1, granted, "next");
    release();
    (await next)();
    assert.deepEqual(granted, ["next"]);
  });

  it("removes an aborted waiter from the queue: it rejects, and the next caller gets the slot", async () => {
    const t = make();
    const key = freshKey();
    const holders = await Promise.all([1, 2, 3, 4].map(() => t.limiter.acquire(key)));
    const granted: string[] = [];
    const controller = new AbortController();
    const { granted: aborted } = await enqueue(t, key, 1, granted, "aborted", controller.signal);
    const { granted: next } = await enqueue(t, key, 1, granted, "next");
    controller.abort(new Error("caller went away"));
    await assert.rejects(aborted, /caller went away/);
    await until("the aborted waiter left the queue", async () => (await t.queued(key)) === 1);
    holders[0]!();
    const releaseNext = await next;
    assert.deepEqual(granted, ["next"]);
    for (const release of [...holders, releaseNext]) release();
  });

  it("an aborted heavy waiter at the head unblocks lighter ones behind it without any release", async () => {
    const t = make();
    const key = freshKey();
    const three = await t.limiter.acquire(key, 3);
    const granted: string[] = [];
    const controller = new AbortController();
    const { granted: heavy } = await enqueue(t, key, 2, granted, "heavy", controller.signal);
    const { granted: light } = await enqueue(t, key, 1, granted, "light");
    controller.abort(new Error("gone"));
    await assert.rejects(heavy, /gone/);
    (await light)();
    assert.deepEqual(granted, ["light"]);
    three();
  });

  it("rejects at once when the signal is already aborted", async () => {
    const t = make();
    await assert.rejects(t.limiter.acquire(freshKey(), 1, AbortSignal.abort(new Error("early"))), /early/);
  });

  it("keeps keys apart: a full mailbox does not hold up another one", async () => {
    const t = make();
    const full = freshKey();
    const holders = await Promise.all([1, 2, 3, 4].map(() => t.limiter.acquire(full)));
    const granted: string[] = [];
    const { granted: waiting } = await enqueue(t, full, 1, granted, "waiting");
    const other = await t.limiter.acquire(freshKey(), 4);
    other();
    assert.deepEqual(granted, []);
    for (const release of holders) release();
    (await waiting)();
  });

  it("ignores a second call of the same release", async () => {
    const t = make();
    const key = freshKey();
    const release = await t.limiter.acquire(key, 2);
    release();
    release();
    await until("the slots are free", async () => (await t.inUse(key)) === 0);
    const all = await t.limiter.acquire(key, 4);
    const granted: string[] = [];
    const { granted: next } = await enqueue(t, key, 1, granted, "next");
    assert.deepEqual(granted, [], "the double release freed nothing extra");
    all();
    (await next)();
  });
}
