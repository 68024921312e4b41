// Scheduled send in the scaled mode (PostgreSQL + Redis, the BullMQ runner): the job enqueued with
// the schedule is a delayed BullMQ job (through the relay, after the commit) and sends at send_at.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { deletePrefix, REDIS_URL, randomPrefix } from "./support/redis.ts";
import { until } from "./support/until.ts";

const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";

describe("scheduled send on PostgreSQL + Redis (BullMQ)", () => {
  let h: ConnectHarness;
  let adeleId: string;
  const prefix = randomPrefix();

  before(async () => {
    h = await startConnectHarness("postgres", {
      env: {
        REDIS_URL,
        REDIS_PREFIX: prefix,
        MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      },
    });
    adeleId = (await h.connectMailboxes([ADELE]))[ADELE]!;
  });
  after(async () => {
    await h.dispose();
    await deletePrefix(REDIS_URL, prefix);
  });

  it("a scheduled email is sent at send_at by the BullMQ runner, once", async () => {
    const sendAt = Date.now() + 2_000;
    const res = await fetch(`${h.baseUrl}/api/v1/emails`, {
      method: "POST",
      headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        account_id: adeleId,
        to: [{ identifier: MEGAN }],
        subject: "scaled and scheduled",
        body: "x",
        send_at: new Date(sendAt).toISOString(),
      }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { schedule_id } = (await res.json()) as { schedule_id: string };
    await until(
      "the scheduled email to be sent",
      async () => {
        const view = (await h.services.scheduled.get(schedule_id)).status;
        return view === "sent";
      },
      { timeoutMs: 30_000 },
    );
    const megan = mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(MEGAN)!.id);
    const received = megan.all.filter((m) => m.subject === "scaled and scheduled" && !m.isDraft);
    assert.equal(received.length, 1);
    assert.ok((received[0]?.sentAt ?? 0) >= sendAt - 1_000, "not before send_at");
  });
});
