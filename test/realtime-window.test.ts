// The bounded realtime index (docs/adr/0006-retention.md): a mailbox with more mail than the window
// (REALTIME_INDEX_DAYS) gets a first sync that reads and indexes only the window's mail, moves and new
// mail inside the window are announced as before, a move of mail older than the window is not, and
// housekeeping keeps the index to the window as time passes. Against the sandbox over HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { SEEDED_APP } from "../sandbox/src/seed.ts";
import { HousekeepingService } from "../src/domain/housekeeping/housekeeping.service.ts";
import { TestClock } from "../src/lib/clock.ts";
import { HousekeepingRepository } from "../src/storage/repositories/housekeeping.repository.ts";
import { type ConnectHarness, startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import {
  ADELE,
  connectAdele,
  createEmailWebhook,
  deliverMail,
  eventsOf,
  type Receiver,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

const DAY = 24 * 3_600_000;
const OLD = 300;
const RECENT = 120;

for (const dialect of dialects())
  describe(`realtime: the bounded message index on ${dialect}`, () => suite(dialect));

function suite(dialect: Dialect): void {
  let h: ConnectHarness;
  let receiver: Receiver;
  let adeleId: string;
  let connectedAt: number;
  const graphRequests = async () => {
    const stats = (await (await fetch(`${h.sandbox.url}/_sandbox/stats`)).json()) as {
      requests: Record<string, number>;
    };
    return stats.requests[`${SEEDED_APP.clientId}|${h.sandbox.state.userByEmail(ADELE)!.id}`] ?? 0;
  };
  const indexRows = async () =>
    h.services.storage.db
      .selectFrom("realtime_messages")
      .select(["message_key", "received_at"])
      .where("account_id", "=", adeleId)
      .execute();
  let syncs = 0;
  const syncNow = () => h.services.realtime.start(adeleId, `test-${++syncs}`);
  const store = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(ADELE)!.id);

  before(async () => {
    receiver = await startReceiver();
    h = await startConnectHarness(dialect, {
      env: {
        // No polls of their own: each sync here is asked for (syncNow), so the request count is exact.
        POLL_INTERVAL_SECONDS: "86400",
        GRAPH_SUBSCRIPTIONS: "off",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
        REALTIME_INDEX_DAYS: "30",
      },
    });
    await createEmailWebhook(h, receiver.url);
    // A year of mail: OLD messages from 31 to 330 days ago in the inbox and the archive, RECENT ones
    // within the last 30 days.
    const mailbox = store();
    const now = Date.now();
    const inbox = mailbox.wellKnownFolder("inbox").id;
    const archive = mailbox.wellKnownFolder("archive").id;
    for (let i = 0; i < OLD; i++)
      mailbox.insertMessage(
        i % 2 ? inbox : archive,
        { subject: `Old ${i}`, receivedAt: now - (31 + i) * DAY },
        { silent: true },
      );
    for (let i = 0; i < RECENT; i++)
      mailbox.insertMessage(
        inbox,
        { subject: `Recent ${i}`, receivedAt: now - (i / RECENT) * 29 * DAY },
        { silent: true },
      );
    await fetch(`${h.sandbox.url}/_sandbox/stats/reset`, { method: "POST" });
    connectedAt = Date.now();
    adeleId = await connectAdele(h);
    await waitForBaseline(h.services, adeleId);
  });
  after(async () => {
    await h.dispose();
    await receiver.close();
  });

  it("the first sync indexes only the window's mail, silently, at a cost that does not grow with older mail", async () => {
    const rows = await indexRows();
    assert.equal(rows.length, RECENT, "one row per message received within the window, none for older mail");
    assert.ok(rows.every((r) => r.received_at >= connectedAt - 30 * DAY - 60_000));
    const requests = await graphRequests();
    // Connect (/me, folder tree) and one filtered delta round per folder: one page each at this size.
    const folders = (
      await h.services.storage.db
        .selectFrom("realtime_folders")
        .select("folder_id")
        .where("account_id", "=", adeleId)
        .execute()
    ).length;
    assert.ok(
      requests <= folders + 12,
      `Graph requests for connect + first sync: ${requests} (${folders} folders)`,
    );
    assert.equal(eventsOf(receiver).length, 0, "the baseline announces nothing");
  });

  it("inside the window a move is mail_moved and new mail is mail_received; a move of older mail is not announced", async () => {
    const mailbox = store();
    const oldOne = mailbox.all.find((m) => m.subject === "Old 0")!;
    const recentOne = mailbox.all.find((m) => m.subject === "Recent 3")!;
    mailbox.moveMessage(oldOne, mailbox.wellKnownFolder("inbox"));
    mailbox.moveMessage(recentOne, mailbox.wellKnownFolder("archive"));
    await deliverMail(h.sandbox.url, "Fresh mail");
    await syncNow();
    await until(
      "mail_received and mail_moved",
      () => {
        const types = eventsOf(receiver).map((e) => `${e.body.event}:${e.body.subject}`);
        return types.includes("mail_received:Fresh mail") && types.includes("mail_moved:Recent 3") && types;
      },
      20_000,
    );
    // One more round after both: the old message's move has had every chance to show up.
    await deliverMail(h.sandbox.url, "Later mail");
    await syncNow();
    await until(
      "the later mail",
      () => eventsOf(receiver).some((e) => e.body.subject === "Later mail"),
      20_000,
    );
    const subjects = eventsOf(receiver).map((e) => `${e.body.event}:${e.body.subject}`);
    assert.ok(!subjects.some((s) => s.endsWith(":Old 0")), subjects.join(", "));
  });

  it("housekeeping keeps the index to the window as time passes", async () => {
    const before = await indexRows();
    const later = Date.now() + 15 * DAY;
    await new HousekeepingService({
      repo: new HousekeepingRepository(h.services.storage.db),
      jobs: h.services.repos.jobs,
      retention: h.services.config.retention,
      clock: new TestClock(later),
      log: { info() {}, debug() {} },
    }).run();
    const after = await indexRows();
    const windowStart = later - 30 * DAY;
    assert.ok(after.length < before.length, `${before.length} → ${after.length}`);
    assert.ok(after.every((r) => r.received_at >= windowStart));
    const kept = new Set(after.map((r) => r.message_key));
    assert.ok(before.filter((r) => r.received_at >= windowStart).every((r) => kept.has(r.message_key)));
  });
}
