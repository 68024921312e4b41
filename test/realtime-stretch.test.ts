// The pure stretch decision: double when the p99 polling lag is more than two effective intervals,
// step down by a quarter once within 1.25, keep it in between; bounded by the maximum factor.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideStretch } from "../src/domain/realtime/poll-stretch.ts";

const S = 1000;
const cases: Array<[string, { accounts: number; p99: number }, number, number]> = [
  ["no accounts", { accounts: 0, p99: 0 }, 4, 1],
  ["keeping up at factor 1", { accounts: 10, p99: 35 * S }, 1, 1],
  ["just under two intervals", { accounts: 10, p99: 60 * S }, 1, 1],
  ["more than one interval late", { accounts: 10, p99: 61 * S }, 1, 2],
  ["still behind at 2", { accounts: 10, p99: 130 * S }, 2, 4],
  ["capped at the maximum", { accounts: 10, p99: 1000 * S }, 8, 8],
  ["between thresholds keeps the factor", { accounts: 10, p99: 100 * S }, 2, 2],
  ["caught up at 4 steps down", { accounts: 10, p99: 120 * S }, 4, 3],
  ["caught up at 1.25 returns to 1", { accounts: 10, p99: 30 * S }, 1.25, 1],
  ["a factor above the maximum is capped first", { accounts: 10, p99: 500 * S }, 20, 8],
];

describe("decideStretch", () => {
  for (const [name, lag, current, expected] of cases)
    it(name, () => {
      const factor = decideStretch(
        { accounts: lag.accounts, p99Ms: lag.p99, maxMs: lag.p99 },
        { intervalMs: 30 * S, current, maxFactor: 8 },
      );
      assert.equal(factor, expected);
    });
});
