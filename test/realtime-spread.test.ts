// 1,000 accounts polling every 30 s, on a test clock: their recurring polls fall due evenly over the
// interval (each second gets about 1/30 of them), and a stretched interval spreads them just as evenly.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createJobRegistry } from "../src/jobs/queue.ts";
import { enqueueDueSchedules } from "../src/jobs/recurring.ts";
import { newId } from "../src/lib/ids.ts";
import { createTestApp, type TestApp } from "./support/app.ts";
import { TestClock } from "./support/clock.ts";

const ACCOUNTS = 1000;

describe("realtime poll spreading", () => {
  let t: TestApp;
  const clock = new TestClock(Date.UTC(2026, 5, 1, 12, 0, 0, 0));
  const ids = Array.from({ length: ACCOUNTS }, () => newId());
  before(async () => {
    t = await createTestApp("sqlite", { POLL_INTERVAL_SECONDS: "30", GRAPH_SUBSCRIPTIONS: "off" }, { clock });
  });
  after(async () => {
    await t.dispose();
  });

  /**
   * How many poll jobs the runner enqueues in each second of the next `seconds` (its own due-schedule
   * step, on the test clock). A new schedule's current slot is due at once (as when an account
   * connects), so the first step takes those; the spread shows from the next slot on.
   */
  const duePerSecond = async (seconds: number): Promise<number[]> => {
    const deps = {
      repository: t.services.repos.jobs,
      registry: createJobRegistry(),
      log: { debug() {}, info() {}, warn() {}, error() {} },
      newId,
    };
    // Each poll job runs within its second (a slot whose previous job has not started is skipped).
    const runAll = () =>
      t.services.storage.db
        .updateTable("jobs")
        .set({ status: "done" })
        .where("kind", "=", "realtime.poll")
        .where("status", "=", "queued")
        .execute();
    while ((await enqueueDueSchedules(deps, clock.now())) > 0) await runAll();
    await runAll();
    const counts: number[] = [];
    for (let second = 1; second <= seconds; second++) {
      clock.advance(1000);
      let created = 0;
      for (let n = -1; n !== 0; created += n) n = await enqueueDueSchedules(deps, clock.now());
      counts.push(created);
      await runAll();
    }
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      ACCOUNTS,
      "every account polls once per interval",
    );
    return counts;
  };

  it("each second of a 30 s interval gets about 1/30 of 1,000 accounts", async () => {
    for (const id of ids) await t.services.realtime.schedulePoll(id);
    const counts = await duePerSecond(30);
    const expected = ACCOUNTS / 30;
    // A uniform spread puts 33.3 ± 5.7 (one standard deviation) in each second.
    for (const [second, n] of counts.entries())
      assert.ok(
        n >= expected * 0.45 && n <= expected * 1.6,
        `second ${second}: ${n} polls (${counts.join(",")})`,
      );
    const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 29 degrees of freedom: above 58 happens by chance less than once in a thousand runs.
    assert.ok(chiSquare < 58, `χ² = ${chiSquare.toFixed(1)} (${counts.join(",")})`);
  });

  it("a stretched interval (× 2) spreads the same accounts over 60 s", async () => {
    const internals = t.services.realtime as unknown as { polls: { stretch: number } };
    internals.polls.stretch = 2;
    for (const id of ids) await t.services.realtime.schedulePoll(id);
    const schedule = await t.services.repos.jobs.schedules.findByName(`realtime.poll:${ids[0]}`);
    assert.equal(schedule?.every_ms, 60_000);
    const counts = await duePerSecond(60);
    const expected = ACCOUNTS / 60;
    const chiSquare = counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 59 degrees of freedom: above 99 happens by chance less than once in a thousand runs.
    assert.ok(chiSquare < 99, `χ² = ${chiSquare.toFixed(1)} (${counts.join(",")})`);
    internals.polls.stretch = 1;
  });
});
