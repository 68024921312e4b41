// Scaled mode while PostgreSQL restarts: two processes on a PostgreSQL cluster of this test's own.
// While it is down /ready is false and the API answers 503 service_unavailable; when it is back both
// processes recover on their own (no restart) and mail is announced again.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startReceiver } from "./support/connect-harness.ts";
import { type Fleet, injectMail, startFleet, untilDelivered } from "./support/fleet.ts";
import { startPrivatePostgres } from "./support/private-servers.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";

describe("scaled mode: PostgreSQL restarted mid-run", { timeout: 150_000 }, () => {
  let postgres: Awaited<ReturnType<typeof startPrivatePostgres>>;
  let fleet: Fleet;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let accountId: string;
  before(async () => {
    postgres = await startPrivatePostgres();
    receiver = await startReceiver();
    fleet = await startFleet({
      processes: 2,
      database: postgres.database,
      env: { POLL_INTERVAL_SECONDS: "1" },
    });
    accountId = await fleet.connect(ADELE);
    await fleet.createWebhook(receiver.url);
    await fleet.waitForBaseline(accountId);
  });
  after(async () => {
    await fleet?.stop();
    await receiver?.close();
    await postgres?.dispose();
  });

  it("/ready is false and the API answers 503 while it is down, then both processes recover without a restart", async () => {
    await postgres.stop();
    for (const process of fleet.processes) {
      const ready = await fetch(`${process.base}/ready`);
      assert.equal(ready.status, 503);
      const body = (await ready.json()) as { status: string; database: string; redis: string };
      assert.equal(body.status, "unavailable");
      assert.notEqual(body.database, "ok");
      assert.equal(body.redis, "ok");
      const accounts = await fleet.api(process.base, "/api/v1/accounts");
      assert.equal(accounts.status, 503);
      const error = (await accounts.json()) as { type: string };
      assert.equal(error.type, "errors/service_unavailable");
      assert.equal(accounts.headers.get("retry-after"), "5");
    }
    const during = Array.from({ length: 5 }, (_, i) => `during ${i}`);
    for (const subject of during) await injectMail(fleet.sandbox, ADELE, subject);

    await postgres.start();
    for (const process of fleet.processes) {
      await until(
        `${process.base} to be ready again`,
        async () => (await fetch(`${process.base}/ready`)).status === 200,
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      assert.equal((await fleet.api(process.base, "/api/v1/accounts")).status, 200);
    }
    const after = Array.from({ length: 5 }, (_, i) => `after ${i}`);
    for (const subject of after) await injectMail(fleet.sandbox, ADELE, subject);
    const all = [...during, ...after];
    const outcome = await untilDelivered(
      "mail from during and after the outage to be announced",
      receiver.received,
      all,
      60_000,
    );
    assert.deepEqual(outcome.splitSubjects, []);
  });
});
