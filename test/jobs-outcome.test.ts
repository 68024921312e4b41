// The pure decision of what a finished run leaves its job as: done, queued again after a delay, or dead.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideJobOutcome, describeError, type NextJobState } from "../src/jobs/job-outcome.ts";
import { PermanentJobError, RetryLaterError, SnoozeError } from "../src/jobs/queue.ts";

const backoff = { baseMs: 100, maxMs: 1_000 };

describe("job outcome decision", () => {
  const cases: {
    name: string;
    succeeded: boolean;
    failure?: unknown;
    attempt: number;
    maxAttempts: number;
    want: NextJobState;
  }[] = [
    {
      name: "a resolved handler completes the job, even on its last attempt",
      succeeded: true,
      attempt: 3,
      maxAttempts: 3,
      want: { outcome: "completed", status: "done" },
    },
    {
      name: "an ordinary error with attempts left is retried with full-jitter backoff",
      succeeded: false,
      failure: new Error("boom"),
      attempt: 2,
      maxAttempts: 5,
      want: { outcome: "retried", status: "queued", delayMs: 200 },
    },
    {
      name: "backoff is capped at maxMs",
      succeeded: false,
      failure: new Error("boom"),
      attempt: 9,
      maxAttempts: 10,
      want: { outcome: "retried", status: "queued", delayMs: 1_000 },
    },
    {
      name: "an ordinary error on the last attempt dead-letters the job",
      succeeded: false,
      failure: new Error("boom"),
      attempt: 3,
      maxAttempts: 3,
      want: { outcome: "dead", status: "dead", permanent: false },
    },
    {
      name: "a thrown non-Error is treated like an ordinary error",
      succeeded: false,
      failure: "a string",
      attempt: 1,
      maxAttempts: 2,
      want: { outcome: "retried", status: "queued", delayMs: 100 },
    },
    {
      name: "RetryLaterError's delay replaces the computed backoff",
      succeeded: false,
      failure: new RetryLaterError(42_000),
      attempt: 1,
      maxAttempts: 3,
      want: { outcome: "retried", status: "queued", delayMs: 42_000 },
    },
    {
      name: "RetryLaterError on the last attempt still dead-letters the job",
      succeeded: false,
      failure: new RetryLaterError(42_000),
      attempt: 3,
      maxAttempts: 3,
      want: { outcome: "dead", status: "dead", permanent: false },
    },
    {
      name: "PermanentJobError dead-letters at once, with attempts left",
      succeeded: false,
      failure: new PermanentJobError("bad payload"),
      attempt: 1,
      maxAttempts: 5,
      want: { outcome: "dead", status: "dead", permanent: true },
    },
    {
      name: "SnoozeError queues the job again after its delay, without spending the attempt",
      succeeded: false,
      failure: new SnoozeError(5_000),
      attempt: 2,
      maxAttempts: 5,
      want: { outcome: "snoozed", status: "queued", delayMs: 5_000 },
    },
    {
      name: "SnoozeError on the last attempt snoozes rather than dead-letters: waiting is not failing",
      succeeded: false,
      failure: new SnoozeError(0),
      attempt: 3,
      maxAttempts: 3,
      want: { outcome: "snoozed", status: "queued", delayMs: 0 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = decideJobOutcome({
        succeeded: c.succeeded,
        failure: c.failure,
        attempt: c.attempt,
        maxAttempts: c.maxAttempts,
        backoff,
        random: () => 1,
      });
      assert.deepEqual(next, c.want);
    });
  }

  it("last_error keeps the error's name and message, cut to 2,000 characters", () => {
    assert.equal(describeError(new TypeError("no")), "TypeError: no");
    assert.equal(describeError(7), "Thrown: 7");
    const long = describeError(new Error("x".repeat(5_000)));
    assert.equal(long.length, 2_000);
    assert.ok(long.endsWith("…"));
  });
});
