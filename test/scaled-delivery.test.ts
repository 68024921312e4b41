// Scaled mode under a crash: three processes share the work of announcing inbound mail; one is
// killed with SIGKILL in the middle of a burst, and the survivors deliver every mail_received.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startReceiver } from "./support/connect-harness.ts";
import { type Fleet, injectMail, startFleet, stopChild, untilDelivered } from "./support/fleet.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const BURST = 150;
const IN_FLIGHT = 10;

describe("scaled mode: a process killed during a burst of inbound mail", { timeout: 150_000 }, () => {
  let fleet: Fleet;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let accountId: string;
  before(async () => {
    receiver = await startReceiver();
    fleet = await startFleet({ processes: 3, env: { POLL_INTERVAL_SECONDS: "1" } });
    accountId = await fleet.connect(ADELE);
    await fleet.createWebhook(receiver.url);
    await fleet.waitForBaseline(accountId);
  });
  after(async () => {
    await fleet?.stop();
    await receiver?.close();
  });

  it("every mail_received is delivered by the survivors; a duplicate only ever repeats an event id", async () => {
    const subjects = Array.from({ length: BURST }, (_, i) => `burst ${i}`);
    const victim = fleet.processes[0]!;
    let next = 0;
    let killed = false;
    const injectors = Array.from({ length: IN_FLIGHT }, async () => {
      while (next < subjects.length) {
        const index = next++;
        if (index === BURST / 3 && !killed) {
          killed = true;
          fleet.lb.targets.splice(fleet.lb.targets.indexOf(victim.base), 1);
          await stopChild(victim.child, "SIGKILL");
        }
        await injectMail(fleet.sandbox, ADELE, subjects[index]!);
      }
    });
    await Promise.all(injectors);
    assert.equal(victim.child.signalCode, "SIGKILL");

    const result = await untilDelivered(
      `all ${BURST} mail_received events`,
      receiver.received,
      subjects,
      100_000,
    );
    assert.deepEqual(result.splitSubjects, [], "no mail was announced as two different events");
    for (const survivor of fleet.processes.slice(1)) {
      assert.equal((await fleet.api(survivor.base, "/ready")).status, 200);
    }
  });
});
