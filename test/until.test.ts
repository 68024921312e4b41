// The one wait the tests use: poll a condition, fail at a deadline with what was awaited.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { until } from "./support/until.ts";

describe("until", () => {
  it("resolves with the first truthy value the check returns, sync or async", async () => {
    let calls = 0;
    assert.equal(await until("the third call", () => (++calls >= 3 ? "done" : undefined)), "done");
    assert.equal(calls, 3);
    const row = { id: 1 };
    assert.equal(await until("a row", async () => row), row);
  });

  it("keeps polling through undefined, null, false, 0 and the empty string", async () => {
    const answers: unknown[] = [undefined, null, false, 0, "", "ok"];
    assert.equal(await until("a truthy answer", () => answers.shift(), { intervalMs: 1 }), "ok");
  });

  it("fails at the deadline naming what it waited for, with the context it was given", async () => {
    await assert.rejects(
      until("the receiver to answer", () => false, { timeoutMs: 30, intervalMs: 5 }),
      {
        message: "Timed out after 30 ms waiting for the receiver to answer",
      },
    );
    await assert.rejects(
      until("two events", () => 0, { timeoutMs: 20, detail: () => "got 1" }),
      {
        message: "Timed out after 20 ms waiting for two events (got 1)",
      },
    );
    await assert.rejects(
      until("a number timeout", () => null, 15),
      /Timed out after 15 ms/,
    );
  });

  it("an error thrown by the check ends the wait at once", async () => {
    const started = Date.now();
    await assert.rejects(
      until(
        "a worker that exits",
        () => {
          throw new Error("the worker exited");
        },
        60_000,
      ),
      /the worker exited/,
    );
    assert.ok(Date.now() - started < 10_000);
  });
});
