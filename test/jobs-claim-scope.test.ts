// ClaimScope (src/jobs/claim-scope.ts): which kinds each claim cycle of the embedded runner looks at.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClaimScope, type CycleScope } from "../src/jobs/claim-scope.ts";

type Step =
  | { wake: string[] | "all" }
  | { keyed: string }
  | { finished: { kind: string; exclusive_key: string | null } }
  | { take: number; expect: "whole" | string[] };

const INTERVAL = 250;

const cases: { name: string; steps: Step[] }[] = [
  {
    name: "the first cycle is whole, then one per interval however many wake-ups come between",
    steps: [
      { take: 0, expect: "whole" },
      { wake: ["a"] },
      { take: 10, expect: ["a"] },
      { wake: ["b"] },
      { take: 249, expect: ["b"] },
      { wake: ["a"] },
      { take: 250, expect: "whole" },
    ],
  },
  {
    name: "wake-ups between two cycles add up; a cycle starts the named kinds over",
    steps: [
      { take: 0, expect: "whole" },
      { wake: ["a"] },
      { wake: ["b", "a"] },
      { take: 5, expect: ["a", "b"] },
      { take: 6, expect: [] },
    ],
  },
  {
    name: "a wake-up without kinds (a declaration, the interval's timer) makes the next cycle whole",
    steps: [
      { take: 0, expect: "whole" },
      { wake: ["a"] },
      { wake: "all" },
      { wake: ["b"] },
      { take: 5, expect: "whole" },
      { wake: ["b"] },
      { take: 6, expect: ["b"] },
    ],
  },
  {
    name: "a finished job without a key names its kind only",
    steps: [
      { take: 0, expect: "whole" },
      { keyed: "realtime.sync" },
      { finished: { kind: "webhook.deliver", exclusive_key: null } },
      { take: 1, expect: ["webhook.deliver"] },
    ],
  },
  {
    name: "a finished job that held a key names every kind that takes keys: a waiter of another kind may run",
    steps: [
      { take: 0, expect: "whole" },
      { keyed: "realtime.sync" },
      { finished: { kind: "realtime.poll", exclusive_key: "realtime.sync:a1" } },
      { take: 1, expect: ["realtime.poll", "realtime.sync"] },
      // Learned from the finished job itself: its kind takes keys from now on.
      { finished: { kind: "realtime.sync", exclusive_key: "realtime.sync:a1" } },
      { take: 2, expect: ["realtime.poll", "realtime.sync"] },
    ],
  },
];

const show = (scope: CycleScope) => (scope.whole ? "whole" : [...scope.kinds].sort());

describe("jobs: the claim cycle's scope", () => {
  for (const { name, steps } of cases)
    it(name, () => {
      const scope = new ClaimScope(INTERVAL);
      for (const step of steps) {
        if ("wake" in step) scope.wake(step.wake === "all" ? undefined : step.wake);
        else if ("keyed" in step) scope.keyedKind(step.keyed);
        else if ("finished" in step) scope.finished(step.finished);
        else assert.deepEqual(show(scope.take(step.take)), step.expect, `at ${step.take} ms`);
      }
    });
});
