// Scaled mode: three Mailroom processes on one PostgreSQL database and Redis, against one sandbox
// process, behind a round-robin load balancer. Any process serves any request.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Fleet, sandboxUserId, startFleet } from "./support/fleet.ts";

const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const ALEX = "alex.wilber@contoso.onmicrosoft.com";
const ADELE = "adele.vance@contoso.onmicrosoft.com";

describe("scaled mode: three processes behind a load balancer", { timeout: 120_000 }, () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet({ processes: 3 });
  });
  after(async () => {
    await fleet?.stop();
  });

  it("every process says it runs in scaled mode, naming PostgreSQL and Redis", () => {
    for (const process of fleet.processes) {
      assert.match(process.output(), /Mode: +scaled \(.*PostgreSQL at postgres:\/\/.*Redis at redis:\/\//);
      assert.match(process.output(), /"mode":"scaled"/);
    }
  });

  it("an account connected through one process is served by the others", async () => {
    const [first, ...others] = fleet.processes;
    fleet.lb.targets.splice(0, fleet.lb.targets.length, first!.base);
    const accountId = await fleet.connect(ADELE);
    fleet.lb.targets.splice(0, fleet.lb.targets.length, ...fleet.processes.map((p) => p.base));

    for (const other of others) {
      const account = await fleet.api(other.base, `/api/v1/accounts/${accountId}`);
      assert.equal(account.status, 200);
      assert.equal(((await account.json()) as { id: string }).id, accountId);
      const emails = await fleet.api(other.base, `/api/v1/emails?account_id=${accountId}&limit=5`);
      assert.equal(emails.status, 200, await emails.clone().text());
      const page = (await emails.json()) as { items: { id: string }[] };
      assert.equal(page.items.length, 5);
      const one = await fleet.api(other.base, `/api/v1/emails/${page.items[0]!.id}?account_id=${accountId}`);
      assert.equal(one.status, 200);
    }
  });

  it("60 concurrent reads of one mailbox split across the processes keep Outlook's 4 concurrent requests, and all succeed", async () => {
    const accountId = await fleet.connect(MEGAN);
    const listed = (await (
      await fleet.api(fleet.lb.url, `/api/v1/emails?account_id=${accountId}&limit=20`)
    ).json()) as { items: { id: string }[] };
    const userId = await sandboxUserId(fleet.sandbox, MEGAN);
    await fleet.sandbox.admin("/_sandbox/scenarios", { action: "latency", user: MEGAN, ms: 150 });
    await fleet.sandbox.admin("/_sandbox/stats/reset", {});
    try {
      const reads = Array.from({ length: 60 }, (_, i) => {
        const process = fleet.processes[i % fleet.processes.length]!;
        const email = listed.items[i % listed.items.length]!;
        return fleet.api(process.base, `/api/v1/emails/${email.id}?account_id=${accountId}`);
      });
      const statuses = (await Promise.all(reads)).map((res) => res.status);
      assert.deepEqual(
        statuses.filter((status) => status !== 200),
        [],
        "every read answered 200",
      );
      const stats = await fleet.sandbox.stats();
      const peaks = Object.entries(stats.peak_concurrency).filter(([key]) => key.includes(userId));
      assert.ok(peaks.length > 0, `the sandbox counted Megan's requests: ${JSON.stringify(stats)}`);
      for (const [key, peak] of peaks) assert.ok(peak <= 4, `peak concurrency ${peak} for ${key}`);
      assert.deepEqual(
        Object.entries(stats.throttled).filter(([key]) => key.includes(userId)),
        [],
        "no request was throttled",
      );
    } finally {
      await fleet.sandbox.admin("/_sandbox/scenarios", { action: "clear_faults", user: MEGAN });
    }
  });

  it("the hosted wizard needs no sticky sessions: its requests may land on any process", async () => {
    const before = fleet.lb.served.length;
    const accountId = await fleet.connect(ALEX);
    const servedBy = new Set(fleet.lb.served.slice(before));
    assert.equal(servedBy.size, fleet.processes.length, "the wizard's requests went round all processes");
    for (const process of fleet.processes) {
      const res = await fleet.api(process.base, `/api/v1/accounts/${accountId}`);
      assert.equal(res.status, 200);
    }
  });
});
