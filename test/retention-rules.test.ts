// The retention rules, pure: defaults, configuration, and the cutoff of each kind of row.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../src/config/config.ts";
import { type RetentionPolicy, retentionCutoffs } from "../src/domain/housekeeping/retention.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 1);
const RETENTION: RetentionPolicy = loadConfig({}, "/srv").retention;

describe("retention: the defaults and the cutoffs", () => {
  it("defaults: done jobs 24 h, dead jobs 14 days, webhooks and sent mail 30 days, index window 30 days", () => {
    assert.deepEqual(RETENTION.jobs, { doneMs: 24 * HOUR, deadMs: 14 * DAY });
    assert.equal(RETENTION.webhooksMs, 30 * DAY);
    assert.equal(RETENTION.sentMessagesMs, 30 * DAY);
    assert.equal(RETENTION.linksMs, 30 * DAY);
    assert.equal(RETENTION.realtimeIndexMs, 30 * DAY);
    assert.equal(RETENTION.housekeepingEveryMs, 15 * 60_000);
  });

  it("every window is configurable, and a bad value names its variable", () => {
    const config = loadConfig(
      {
        JOB_RETENTION_HOURS: "2",
        DEAD_JOB_RETENTION_DAYS: "3",
        WEBHOOK_RETENTION_DAYS: "4",
        REALTIME_INDEX_DAYS: "5",
      },
      "/srv",
    );
    assert.deepEqual(config.retention.jobs, { doneMs: 2 * HOUR, deadMs: 3 * DAY });
    assert.equal(config.retention.webhooksMs, 4 * DAY);
    assert.equal(config.retention.realtimeIndexMs, 5 * DAY);
    assert.throws(() => loadConfig({ JOB_RETENTION_HOURS: "0" }, "/srv"), /JOB_RETENTION_HOURS/);
    assert.throws(() => loadConfig({ REALTIME_INDEX_DAYS: "many" }, "/srv"), /REALTIME_INDEX_DAYS/);
  });

  const cases: [string, (c: ReturnType<typeof retentionCutoffs>) => number, number][] = [
    ["done jobs", (c) => c.jobs.doneBefore, NOW - 24 * HOUR],
    ["dead jobs", (c) => c.jobs.deadBefore, NOW - 14 * DAY],
    ["webhook deliveries", (c) => c.webhookDeliveries, NOW - 30 * DAY],
    ["webhook events", (c) => c.webhookEvents, NOW - 30 * DAY],
    ["notify deliveries", (c) => c.notifyDeliveries, NOW - 30 * DAY],
    ["hosted links (after expiry)", (c) => c.hostedLinks, NOW - 30 * DAY],
    ["auth attempts (at expiry)", (c) => c.authAttempts, NOW],
    ["admin sessions (at expiry)", (c) => c.adminSessions, NOW],
    ["sent messages", (c) => c.sentMessages, NOW - 30 * DAY],
    ["realtime window", (c) => c.realtimeWindow, NOW - 30 * DAY],
    ["realtime gone rows", (c) => c.realtimeGone, NOW - 7 * DAY],
  ];
  for (const [name, pick, expected] of cases)
    it(`the cutoff of ${name} follows the policy`, () => {
      assert.equal(pick(retentionCutoffs(RETENTION, NOW)), expected);
    });

  it("gone index rows never outlive a shorter index window", () => {
    assert.equal(
      retentionCutoffs({ ...RETENTION, realtimeIndexMs: 2 * DAY }, NOW).realtimeGone,
      NOW - 2 * DAY,
    );
  });
});
