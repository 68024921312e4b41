// Scaled mode while Redis restarts: two processes on a Redis of this test's own (append-only file
// on). While it is down /ready is false and reads that need no job still answer; mail that arrives
// meanwhile is announced once it is back, and nothing committed before is lost.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startReceiver } from "./support/connect-harness.ts";
import {
  checkDelivered,
  type Fleet,
  injectMail,
  mailReceived,
  startFleet,
  untilDelivered,
} from "./support/fleet.ts";
import { type PrivateServer, startPrivateRedis } from "./support/private-servers.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

describe("scaled mode: Redis restarted mid-run", { timeout: 150_000 }, () => {
  let redis: PrivateServer;
  let fleet: Fleet;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let accountId: string;
  before(async () => {
    redis = await startPrivateRedis();
    receiver = await startReceiver();
    fleet = await startFleet({ processes: 2, redisUrl: redis.url, env: { POLL_INTERVAL_SECONDS: "1" } });
    accountId = await fleet.connect(ADELE);
    await fleet.createWebhook(receiver.url);
    await fleet.waitForBaseline(accountId);
  });
  after(async () => {
    await fleet?.stop();
    await receiver?.close();
    await redis?.dispose();
  });

  it("/ready is false while Redis is down, reads keep answering, and jobs resume when it is back with nothing lost", async () => {
    const before = Array.from({ length: 10 }, (_, i) => `before ${i}`);
    for (const subject of before) await injectMail(fleet.sandbox, ADELE, subject);
    await until(
      "the mail before the outage to be announced",
      () => {
        return checkDelivered(mailReceived(receiver.received), before).missing.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    await redis.stop();
    for (const process of fleet.processes) {
      const ready = await until(
        `${process.base} to report Redis lost`,
        async () => {
          const res = await fetch(`${process.base}/ready`);
          return res.status === 503 && ((await res.json()) as { redis?: string; database: string });
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      assert.notEqual(ready.redis, "ok");
      assert.equal(ready.database, "ok");
      const accounts = await fleet.api(process.base, "/api/v1/accounts");
      assert.equal(accounts.status, 200, "the account list needs no job");
      const emails = await fleet.api(process.base, `/api/v1/emails?account_id=${accountId}&limit=3`);
      assert.equal(emails.status, 200, `reading mail needs no job: ${await emails.clone().text()}`);
    }
    const during = Array.from({ length: 10 }, (_, i) => `during ${i}`);
    for (const subject of during) await injectMail(fleet.sandbox, ADELE, subject);

    await redis.start();
    for (const process of fleet.processes) {
      await until(
        `${process.base} to be ready again without a restart`,
        async () => {
          return (await fetch(`${process.base}/ready`)).status === 200;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    const all = [...before, ...during];
    const outcome = await untilDelivered(
      "every mail_received, before and during the outage",
      receiver.received,
      all,
      60_000,
    );
    assert.deepEqual(outcome.splitSubjects, []);
  });
});
