// Scaled mode: three Mailroom processes on one PostgreSQL database and Redis, against one sandbox
// process, behind a round-robin load balancer. Any process serves any request.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Fleet, startFleet } from "./support/fleet.ts";

const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const ALEX = "alex.wilber@contoso.onmicrosoft.com";

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
    const accountId = await fleet.connect(MEGAN);
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
