// Every Graph call of a mailbox takes its slots from the one limiter the composition root is given:
// API reads, the delta sync that polling and notifications run, and the subscription calls. In scaled
// mode that limiter is the Redis one, so no path can add requests beside the shared count.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Release } from "../src/lib/limits.ts";
import { KeyedLimiter } from "../src/providers/microsoft/limiter.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { connectAdele, deliverMail } from "./support/realtime.ts";

/** The in-process limiter, counting the slots taken per mailbox. */
class CountingLimiter extends KeyedLimiter {
  readonly taken = new Map<string, number>();

  override async acquire(key: string, weight = 1, signal?: AbortSignal): Promise<Release> {
    this.taken.set(key, (this.taken.get(key) ?? 0) + 1);
    return super.acquire(key, weight, signal);
  }
}

describe("limits: every Graph path of a mailbox goes through the limiter it is given", () => {
  const limiter = new CountingLimiter(4);
  let h: ConnectHarness;
  let accountId: string;

  before(async () => {
    h = await startConnectHarness("sqlite", { limits: { mailboxLimiter: limiter } });
    accountId = await connectAdele(h);
  });
  after(async () => {
    await h?.dispose();
  });

  const takenNow = () => limiter.taken.get(accountId) ?? 0;

  it("API reads take slots of the mailbox's limiter", async () => {
    const before = takenNow();
    const res = await fetch(`${h.baseUrl}/api/v1/emails?account_id=${accountId}&limit=5`, {
      headers: { "x-api-key": h.t.apiKey },
    });
    assert.equal(res.status, 200, await res.text());
    assert.ok(takenNow() > before, "the read took no slot");
  });

  it("the delta sync (what polling and change notifications run) takes slots of the same limiter", async () => {
    await deliverMail(h.sandbox.url, "limiter path");
    const before = takenNow();
    assert.equal(await h.services.realtime.sync(accountId), "done");
    assert.ok(takenNow() > before, "the sync took no slot");
  });
});
