// When a new BullMQ scheduler's first slot is (src/jobs/bullmq-queues.ts, schedulerStart): the slot
// after the one under way when the declaration began, unless the declaration took it past that slot's
// start or to within the margin of it, since BullMQ starts a scheduler whose start date has passed off
// its slots for good.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SCHEDULER_START_MARGIN_MS, schedulerStart } from "../src/jobs/bullmq-queues.ts";

describe("schedulerStart", () => {
  const every = { everyMs: 1000, offsetMs: 70 };
  const cases: [string, number, number, number][] = [
    // [what, nextAt (taken when the declaration began), now (just before the scheduler), first slot]
    ["no time passed: the next slot", 2070, 1500, 2070],
    ["the next slot further than the margin", 2070, 2070 - SCHEDULER_START_MARGIN_MS - 1, 2070],
    ["the next slot within the margin: one later", 2070, 2070 - SCHEDULER_START_MARGIN_MS + 1, 3070],
    ["the next slot exactly at the margin: one later", 2070, 2070 - SCHEDULER_START_MARGIN_MS, 3070],
    ["the next slot begun during the declaration", 2070, 2100, 3070],
    ["two slots passed during a slow declaration", 2070, 4075, 5070],
  ];
  for (const [what, nextAt, now, expected] of cases)
    it(what, () => assert.equal(schedulerStart(every, nextAt, now), expected));

  it("keeps the slots of a recurring job without offset", () => {
    assert.equal(schedulerStart({ everyMs: 200 }, 1200, 1195), 1400);
    assert.equal(schedulerStart({ everyMs: 200 }, 1200, 1100), 1200);
  });
});
