// Subscription renewals are spread: each account renews `renewBefore` before expiry and earlier by
// a fixed per-account offset within half of that, so 1,000 subscriptions that expire together are
// renewed over twelve hours, not in one watchdog minute.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { renewalAt } from "../src/domain/realtime/subscription-lifecycle.ts";

const HOUR = 3600_000;

describe("subscription renewal spreading", () => {
  it("1,000 subscriptions expiring together renew evenly over 12 hours, all at least 24 h early", () => {
    const expiresAt = Date.UTC(2026, 5, 4);
    const perHour = new Array<number>(12).fill(0);
    for (let i = 0; i < 1000; i++) {
      // Ids shaped as newId() makes them (22 base64url characters), drawn from a fixed sequence so the
      // count per hour is the same on every run.
      const id = createHash("sha256").update(`account ${i}`).digest("base64url").slice(0, 22);
      const at = renewalAt(expiresAt, id, 24 * HOUR);
      assert.ok(at <= expiresAt - 24 * HOUR && at > expiresAt - 36 * HOUR, `${id}: ${at}`);
      assert.equal(renewalAt(expiresAt, id, 24 * HOUR), at, "an account's offset is fixed");
      perHour[Math.floor((expiresAt - 24 * HOUR - at) / HOUR)]! += 1;
    }
    // 83.3 per hour expected; ± 9 is one standard deviation.
    for (const [hour, n] of perHour.entries())
      assert.ok(n > 50 && n < 120, `hour ${hour}: ${n} (${perHour})`);
  });
});
