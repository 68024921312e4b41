// kill -9 during a burst of inbound mail: a Mailroom process polling the mailbox is SIGKILLed while
// hundreds of messages arrive; the next process on the same database announces every message, and
// any message delivered twice to the receiver carries the same event id both times.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { startConnectHarness, startReceiver } from "./support/connect-harness.ts";
import { type Dialect, dialects } from "./support/databases.ts";
import {
  connectAdele,
  createEmailWebhook,
  deliverMail,
  eventsOf,
  waitForBaseline,
} from "./support/realtime.ts";
import { until } from "./support/until.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// PostgreSQL runs a smaller burst: the same guarantee, at a cost the whole suite can afford.
const BURSTS: Record<Dialect, number> = { sqlite: 500, postgres: 150 };

function startWorker(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<void>;
  stderr: () => string;
} {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/fixtures/realtime-worker.ts", JSON.stringify({ env })],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (stdout.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`worker exited (${code}): ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

for (const dialect of dialects()) {
  describe(`realtime after a crash on ${dialect}`, () => crashSuite(dialect, BURSTS[dialect]));
}

function crashSuite(dialect: Dialect, burst: number): void {
  it(`a process killed with SIGKILL during a burst of ${burst} inbound messages loses none: after a restart every message is announced, duplicates only under one event id`, async () => {
    const receiver = await startReceiver();
    const h = await startConnectHarness(dialect, {
      env: { POLL_INTERVAL_SECONDS: "1", GRAPH_SUBSCRIPTIONS: "off", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on" },
    });
    const workers: ChildProcess[] = [];
    try {
      await createEmailWebhook(h, receiver.url);
      const adeleId = await connectAdele(h);
      await waitForBaseline(h.services, adeleId);
      // From here on, only the worker processes poll and deliver.
      await h.services.jobs.stop();
      const env = {
        DATA_DIR: h.t.dataDir,
        DATABASE_URL:
          h.t.database.config.kind === "postgres"
            ? h.t.database.config.url
            : `sqlite://${h.t.database.sqlitePath}`,
        SANDBOX: "off",
        MICROSOFT_LOGIN_URL: h.sandbox.url,
        MICROSOFT_GRAPH_URL: h.sandbox.url,
        PUBLIC_URL: h.baseUrl,
        POLL_INTERVAL_SECONDS: "1",
        GRAPH_SUBSCRIPTIONS: "off",
        WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
        LOG_LEVEL: "silent",
      };
      const first = startWorker(env);
      workers.push(first.child);
      await first.ready;

      const subjects = Array.from({ length: burst }, (_, i) => `Burst ${String(i).padStart(3, "0")}`);
      let sent = 0;
      const sending = (async () => {
        for (let i = 0; i < subjects.length; i += 10) {
          await Promise.all(subjects.slice(i, i + 10).map((s) => deliverMail(h.sandbox.url, s)));
          sent = i + 10;
        }
      })();
      // Mid-burst: part of the mail delivered and announced, the rest still arriving.
      await until(
        "some announcements before the kill",
        () => eventsOf(receiver).length >= 20 && sent >= burst / 5,
        60_000,
      );
      const exited = once(first.child, "exit");
      first.child.kill("SIGKILL");
      assert.equal(((await exited) as [number | null, string | null])[1], "SIGKILL");
      const announcedBeforeKill = eventsOf(receiver).length;
      await sending;
      assert.ok(announcedBeforeKill < burst, "the kill happened during the burst");

      const second = startWorker(env);
      workers.push(second.child);
      await second.ready;
      await until(
        `all ${burst} messages announced`,
        () => new Set(eventsOf(receiver).map((e) => e.body.subject)).size >= burst,
        120_000,
      );
      const events = eventsOf(receiver);
      const idsBySubject = new Map<string, Set<string>>();
      for (const event of events) {
        assert.equal(event.body.event, "mail_received");
        const subject = String(event.body.subject);
        idsBySubject.set(subject, (idsBySubject.get(subject) ?? new Set()).add(event.id));
      }
      assert.deepEqual([...idsBySubject.keys()].sort(), subjects);
      for (const [subject, ids] of idsBySubject) assert.equal(ids.size, 1, `${subject}: one event id`);
    } finally {
      for (const child of workers) if (child.exitCode === null) child.kill("SIGKILL");
      await h.dispose();
      await receiver.close();
    }
  });
}
