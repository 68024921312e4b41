// Scheduled send (docs/adr/0011-send-once-and-scheduled.md), embedded mode (SQLite, the SQL job runner)
// with the sandbox in this process: BENCH_SCHEDULED_COUNT mails (default 10,000) over 10 mailboxes (the
// seed's 3 and 7 the bench adds),
// their send_at spread over one minute starting BENCH_SCHEDULED_LEAD_S (default 30) after the first
// request. Reported: how many went out, the lag between send_at and the send (sent_at − send_at) p50 /
// p99, messages delivered per mail (nothing twice), and, as the baseline in the same run, the same
// number of immediate sends (POST /api/v1/emails, 32 at a time; BENCH_SCHEDULED_BASELINE_COUNT sets
// fewer, a rate needing no 10,000): the scheduled drain rate against it.
import { loadavg } from "node:os";
import { mailboxes } from "../../sandbox/src/graph/mailbox-store.ts";
import { SEED_PASSWORD, SEEDED_USERS } from "../../sandbox/src/seed.ts";
import { startConnectHarness } from "../../test/support/connect-harness.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

const SEEDED_SENDERS = SEEDED_USERS.filter(
  (u) => u.kind === "work" && u.hasMailbox && u.email.includes("contoso"),
).map((u) => u.email);
// The seed has 3 such mailboxes: the bench adds the rest, so 10,000 mails are 1,000 per mailbox (Outlook
// allows 10,000 requests per mailbox and 10 minutes; over 3 mailboxes a run spent them all).
const SENDERS = [
  ...SEEDED_SENDERS,
  ...Array.from({ length: 10 }, (_, i) => `bench.sender${i + 1}@contoso.onmicrosoft.com`),
].slice(0, 10);
const RECIPIENT = "bench.recipient@contoso.onmicrosoft.com";
const CONCURRENCY = 32;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

export const scheduled: Scenario = {
  name: "scheduled",
  describe:
    "10,000 mails scheduled within a minute (BENCH_SCHEDULED_COUNT): lag p50/p99, duplicates, vs immediate sends",
  async run(_settings, log) {
    const count = Number(process.env.BENCH_SCHEDULED_COUNT ?? 10_000);
    const leadMs = Number(process.env.BENCH_SCHEDULED_LEAD_S ?? 30) * 1000;
    const baselineCount = Number(process.env.BENCH_SCHEDULED_BASELINE_COUNT ?? count);
    const h = await startConnectHarness("sqlite", { seedCorpus: false });
    try {
      await fetch(`${h.sandbox.url}/_sandbox/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: RECIPIENT, kind: "work" }),
      });
      for (const email of SENDERS.filter((e) => !SEEDED_SENDERS.includes(e)))
        await fetch(`${h.sandbox.url}/_sandbox/users`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, kind: "work", password: SEED_PASSWORD }),
        });
      const ids = Object.values(await h.connectMailboxes(SENDERS));
      const post = async (body: Record<string, unknown>) => {
        const res = await fetch(`${h.baseUrl}/api/v1/emails`, {
          method: "POST",
          headers: { "x-api-key": h.t.apiKey, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        if (res.status >= 300) throw new Error(`POST /api/v1/emails: ${res.status} ${await res.text()}`);
      };
      const inParallel = async (n: number, task: (i: number) => Promise<void>) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < n) await task(next++);
          }),
        );
      };
      const resetWindows = () =>
        fetch(`${h.sandbox.url}/_sandbox/scenarios`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ action: "reset_request_windows" }),
        });
      const recipientStore = () => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(RECIPIENT)!.id);

      // Baseline: immediate sends.
      await resetWindows();
      log(`baseline: ${baselineCount} immediate sends`);
      const immediateStart = performance.now();
      await inParallel(baselineCount, (i) =>
        post({
          account_id: ids[i % ids.length],
          to: [{ identifier: RECIPIENT }],
          subject: `now ${i}`,
          body: "x",
        }),
      );
      const immediatePerS = baselineCount / ((performance.now() - immediateStart) / 1000);

      // Scheduled: send_at spread over one minute after the lead.
      await resetWindows();
      const requestsBefore = new Map(h.sandbox.state.counters.requests);
      const load1 = loadavg()[0] ?? 0;
      const t0 = Date.now() + leadMs;
      log(`scheduling ${count} mails for ${new Date(t0).toISOString()} + 60 s`);
      const scheduleStart = performance.now();
      await inParallel(count, (i) =>
        post({
          account_id: ids[i % ids.length],
          to: [{ identifier: RECIPIENT }],
          subject: `later ${i}`,
          body: "x",
          send_at: new Date(
            Math.max(Date.now() + 1_000, t0 + Math.floor((60_000 * i) / count)),
          ).toISOString(),
        }),
      );
      const scheduleS = (performance.now() - scheduleStart) / 1000;
      const db = h.services.storage.db;
      const deadline = Date.now() + leadMs + 60_000 + 300_000;
      for (;;) {
        const open = await db
          .selectFrom("scheduled_emails")
          .select(db.fn.countAll<number>().as("n"))
          .where("status", "in", ["scheduled", "sending"])
          .executeTakeFirstOrThrow();
        if (Number(open.n) === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const rows = await db
        .selectFrom("scheduled_emails")
        .select(["id", "status", "send_at", "sent_at", "attempts", "error"])
        .execute();
      // What became of the mails not sent: their schedule and their send job.
      const unsent = [];
      for (const row of rows.filter((r) => r.status !== "sent").slice(0, 5)) {
        const job = await db
          .selectFrom("jobs")
          .select(["status", "attempts", "run_at", "last_error", "locked_until"])
          .where("idempotency_key", "=", `scheduled-send:${row.id}`)
          .executeTakeFirst();
        unsent.push({ ...row, job });
        log(`not sent: ${JSON.stringify({ ...row, job })}`);
      }
      const sent = rows.filter((r) => r.status === "sent");
      const lags = sent.map((r) => (r.sent_at ?? 0) - r.send_at).sort((a, b) => a - b);
      const firstAt = Math.min(...sent.map((r) => r.send_at));
      const lastAt = Math.max(...sent.map((r) => r.sent_at ?? 0));
      const delivered = recipientStore().all.filter((m) => m.subject.startsWith("later ")).length;
      const subjects = new Set(
        recipientStore()
          .all.filter((m) => m.subject.startsWith("later "))
          .map((m) => m.subject),
      );
      const drainPerS = sent.length / Math.max(0.001, (lastAt - firstAt) / 1000);
      // Graph requests per mailbox while scheduling and sending (Outlook allows 10,000 per 10 minutes).
      const perMailbox = [...h.sandbox.state.counters.requests].map(
        ([key, n]) => n - (requestsBefore.get(key) ?? 0),
      );
      const maxPerMailbox = Math.max(0, ...perMailbox);
      log(`Graph requests per mailbox while scheduling and sending: max ${maxPerMailbox}`);
      const load = loadavg()[0] ?? 0;
      return {
        status: "ok",
        table: {
          title: `Scheduled send: ${count} mails over 10 mailboxes, send_at spread over 60 s (embedded, SQLite)`,
          columns: ["measure", "value"],
          rows: [
            ["scheduled (202) in s / per s", `${round(scheduleS, 1)} / ${round(count / scheduleS, 0)}`],
            [
              "sent / failed / other",
              `${sent.length} / ${rows.filter((r) => r.status === "failed").length} / ${rows.length - sent.length - rows.filter((r) => r.status === "failed").length}`,
            ],
            ["lag send_at → sent p50 (ms)", round(median(lags), 0)],
            ["lag p99 (ms)", round(percentile(lags, 0.99), 0)],
            ["lag max (ms)", round(lags[lags.length - 1] ?? 0, 0)],
            ["delivered messages / distinct (nothing twice)", `${delivered} / ${subjects.size}`],
            ["scheduled drain per s (first send_at → last sent)", round(drainPerS, 1)],
            ["Graph requests per mailbox, scheduling + sending (max)", maxPerMailbox],
            [`baseline: immediate sends per s (${baselineCount})`, round(immediatePerS, 1)],
            ["ratio drain / immediate", round(drainPerS / immediatePerS, 2)],
            ["load average (1 min) at scheduling / at the end", `${round(load1, 2)} / ${round(load, 2)}`],
          ],
          notes: [
            "Lag is sent_at (after Microsoft's 202 to /send) minus send_at. A scheduled mail costs 3 Graph calls (the draft when scheduled; at send_at a read of the draft, then /send; Deleted Items' id once per mailbox), an immediate one 2 (create, send). Outlook allows 10,000 per mailbox and 10 minutes: past that, a send waits for Retry-After.",
          ],
        },
        data: {
          count,
          lags: { p50: median(lags), p99: percentile(lags, 0.99) },
          delivered,
          distinct: subjects.size,
          unsent,
          maxPerMailbox,
          drainPerS,
          immediatePerS,
        },
      };
    } finally {
      await h.dispose();
    }
  },
};
