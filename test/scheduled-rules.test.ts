// The pure decisions of scheduled send: which send_at values are accepted, and what a failed attempt
// leads to (docs/adr/0011-send-once-and-scheduled.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalJson } from "../src/domain/idempotency/fingerprint.ts";
import { attemptOutcome, parseSendAt } from "../src/domain/scheduled/schedule-rules.ts";
import { AppError } from "../src/lib/errors.ts";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const DAY = 86_400_000;

describe("parseSendAt", () => {
  const cases: [string, unknown, number | RegExp][] = [
    ["a UTC date-time ahead", "2030-01-01T00:00:05Z", NOW + 5_000],
    ["an offset date-time", "2030-01-01T03:00:00+02:00", NOW + 3_600_000],
    ["milliseconds", "2030-01-02T00:00:00.250Z", NOW + DAY + 250],
    ["the past", "2029-12-31T23:59:59Z", /future/],
    ["now", "2030-01-01T00:00:00Z", /future/],
    ["beyond the horizon", "2030-01-31T00:00:01Z", /30 days/],
    ["no zone", "2030-01-02T00:00:00", /ISO 8601/],
    ["a date only", "2030-01-02", /ISO 8601/],
    ["an impossible date", "2030-02-31T00:00:00Z", /not a valid|ISO/],
    ["a number", 1893456000000, /ISO 8601/],
  ];
  for (const [name, value, expected] of cases)
    it(`${name}: ${expected instanceof RegExp ? `400 ${expected}` : "accepted"}`, () => {
      if (typeof expected === "number") assert.equal(parseSendAt(value, NOW, 30 * DAY), expected);
      else
        assert.throws(
          () => parseSendAt(value, NOW, 30 * DAY),
          (e: AppError) =>
            e.code === "invalid_parameters" &&
            /send_at/.test(e.detail ?? "") &&
            expected.test(e.detail ?? ""),
        );
    });
});

describe("attemptOutcome", () => {
  const throttled = new AppError("too_many_requests", { retryAfterSeconds: 3 });
  const cases: [string, unknown, number, string, number?][] = [
    ["throttled, Retry-After honoured", throttled, 1, "retry", 3_000],
    ["a 5xx, backoff", new AppError("provider_error"), 2, "retry"],
    ["unavailable, backoff", new AppError("service_unavailable"), 9, "retry"],
    ["the tenth throttled attempt", throttled, 10, "fail"],
    ["a network error", new Error("socket hang up"), 3, "retry"],
    ["the draft is gone", new AppError("resource_not_found"), 1, "draft_missing"],
    ["the account must sign in again", new AppError("disconnected_account"), 1, "needs_reauth"],
    ["a rejected recipient", new AppError("invalid_recipient"), 1, "fail"],
    ["send-as denied", new AppError("send_as_denied"), 1, "fail"],
  ];
  for (const [name, error, attempt, kind, delayMs] of cases)
    it(`${name} (attempt ${attempt}) → ${kind}`, () => {
      const outcome = attemptOutcome(error, attempt);
      assert.equal(outcome.kind, kind);
      if (delayMs !== undefined) assert.equal((outcome as { delayMs?: number }).delayMs, delayMs);
    });
});

describe("canonicalJson (the Idempotency-Key fingerprint's body)", () => {
  it("sorts keys, leaves out undefined members and hashes bytes", () => {
    assert.equal(canonicalJson({ b: 1, a: [2, { d: undefined, c: "x" }] }), '{"a":[2,{"c":"x"}],"b":1}');
    assert.equal(canonicalJson(Buffer.from("abc")), canonicalJson(Buffer.from("abc")));
    assert.notEqual(canonicalJson(Buffer.from("abc")), canonicalJson(Buffer.from("abd")));
  });
});
