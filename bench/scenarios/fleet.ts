// Many polled mailboxes in one embedded Mailroom: N empty work mailboxes in a separate sandbox
// process (`bench/fleet-sandbox.ts`), connected natively (`POST /api/v1/accounts` with tokens the
// sandbox granted), polling every 30 s without subscriptions, under a steady stream of inbound mail.
// Measured over a real window (no compressed clock: the sandbox keeps real time): RSS, CPU per
// account, database growth per account (extrapolated from the window's delivered mail to 50 messages
// per mailbox per day), polling lag (from /metrics) and Graph requests per mailbox per hour (the
// sandbox's counters). N: FLEET_SIZE (default 1,000); window: FLEET_WINDOW_S (default 180 s).
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SEEDED_APP } from "../../sandbox/src/seed.ts";
import {
  cleanEnv,
  freePort,
  REPO_ROOT,
  readMemory,
  runCommand,
  spawnChild,
  waitFor200,
} from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";
import { firstJsonLine } from "../lib/targets.ts";

const POLL_S = 30;
const MAIL_PER_MAILBOX_PER_DAY = 50;

async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  // utime and stime (fields 14 and 15 of the whole line), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir))
    if (name.includes(".db") || name.includes("sqlite")) total += (await stat(join(dir, name))).size;
  return total;
}

async function pool<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

async function graphRequests(sandbox: string): Promise<number> {
  const json = (await (await fetch(`${sandbox}/_sandbox/stats`)).json()) as {
    requests: Record<string, number>;
  };
  return Object.values(json.requests).reduce((a, b) => a + b, 0);
}

async function pollingLag(
  mailroom: string,
): Promise<{ p99: number; max: number; stretch: number; polls: number }> {
  const text = await (await fetch(`${mailroom}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    p99: value(/^mailroom_polling_lag_seconds\{stat="p99"\} (\S+)$/m),
    max: value(/^mailroom_polling_lag_seconds\{stat="max"\} (\S+)$/m),
    stretch: value(/^mailroom_polling_interval_stretch (\S+)$/m),
    polls: value(/^mailroom_jobs_total\{kind="realtime\.poll",outcome="completed"\} (\S+)$/m),
  };
}

export const fleet: Scenario = {
  name: "fleet",
  describe:
    "N polled mailboxes (FLEET_SIZE, default 1000) at 30 s: RSS, CPU, DB, lag, Graph requests per account",
  async run(settings, log) {
    const size = Number(process.env.FLEET_SIZE ?? 1000);
    const windowS = Number(process.env.FLEET_WINDOW_S ?? 180);
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-fleet-"));
    const tokensFile = join(dataDir, "fleet-tokens.jsonl");
    const port = await freePort();
    const sandboxPort = await freePort();
    const bin = join(REPO_ROOT, "bin/mailroom.js");
    const mailroomBase = `http://localhost:${port}`;
    const sandboxBase = `http://localhost:${sandboxPort}`;
    const t0 = performance.now();
    const sandboxChild = spawnChild(
      "sandbox",
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "bench/fleet-sandbox.ts")],
      {
        env: cleanEnv({
          PORT: String(sandboxPort),
          SANDBOX_BASE_URL: sandboxBase,
          FLEET_SIZE: String(size),
          FLEET_TOKENS_FILE: tokensFile,
        }),
      },
    );
    const env = cleanEnv({
      DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX: "off",
      MICROSOFT_LOGIN_URL: sandboxBase,
      MICROSOFT_GRAPH_URL: sandboxBase,
      POLL_INTERVAL_SECONDS: String(POLL_S),
      GRAPH_SUBSCRIPTIONS: "off",
      LOG_LEVEL: "warn",
      LOG_FORMAT: "json",
    });
    let child: ReturnType<typeof spawnChild> | undefined;
    try {
      const ready = await firstJsonLine(sandboxChild, 600_000);
      if ("error" in ready) throw new Error(`sandbox did not start: ${String(ready.error)}`);
      log(`  ${size} sandbox mailboxes in ${round((performance.now() - t0) / 1000, 1)} s`);
      const out = await runCommand(process.execPath, [bin, "api-key", "create", "--name", "bench"], { env });
      const apiKey = /^\s+(mr_\S+)\s*$/m.exec(out)?.[1];
      if (!apiKey) throw new Error(`no API key in: ${out}`);
      await runCommand(
        process.execPath,
        [bin, "settings", "microsoft", "--client-id", SEEDED_APP.clientId, "--client-secret-stdin"],
        { env, input: SEEDED_APP.clientSecret },
      );
      child = spawnChild("mailroom", process.execPath, [...settings.subjectNodeFlags, bin, "start"], { env });
      await waitFor200(child, port, "/ready", { timeoutMs: 60_000 });
      const idle = await readMemory(child.pid);

      const users: { email: string; access_token: string; refresh_token: string }[] = [];
      for await (const line of createInterface({ input: createReadStream(tokensFile) }))
        if (line.trim()) users.push(JSON.parse(line));
      const t1 = performance.now();
      await pool(users, 8, async (user) => {
        const res = await fetch(`${mailroomBase}/api/v1/accounts`, {
          method: "POST",
          headers: { "x-api-key": apiKey, "content-type": "application/json" },
          body: JSON.stringify({
            provider: "OUTLOOK",
            access_token: user.access_token,
            refresh_token: user.refresh_token,
          }),
        });
        if (res.status >= 300) throw new Error(`connect ${user.email}: ${res.status} ${await res.text()}`);
      });
      const connectS = (performance.now() - t1) / 1000;
      log(`  connected ${users.length} accounts in ${round(connectS, 1)} s; settling one interval`);
      // Every account's first (baseline) sync and first slots, before measuring.
      await new Promise((r) => setTimeout(r, (POLL_S + 10) * 1000));

      const dbBefore = await dirBytes(dataDir);
      const cpuBefore = await cpuMs(child.pid);
      const sandboxCpuBefore = await cpuMs(sandboxChild.pid);
      const pollsBefore = (await pollingLag(mailroomBase)).polls;
      const graphBefore = await graphRequests(sandboxBase);
      // Inbound mail: 10× the real rate of 50 per mailbox per day, spread over the window.
      const perSecond = (size * MAIL_PER_MAILBOX_PER_DAY * 10) / 86_400;
      let delivered = 0;
      let owed = 0;
      let peakRss = 0;
      const started = performance.now();
      while (performance.now() - started < windowS * 1000) {
        owed += perSecond;
        const batch: Promise<unknown>[] = [];
        for (; owed >= 1; owed -= 1) {
          const to = users[Math.floor(Math.random() * users.length)]!.email;
          batch.push(
            fetch(`${sandboxBase}/_sandbox/mail`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                from: "Ada <ada@fabrikam.example>",
                to: [to],
                subject: `Fleet ${delivered}`,
                body: "<p>hi</p>",
                body_type: "html",
              }),
            }).then(async (res) => {
              await res.arrayBuffer();
              if (res.status === 201) delivered += 1;
            }),
          );
        }
        await Promise.all(batch);
        peakRss = Math.max(peakRss, (await readMemory(child.pid)).rssMiB);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const elapsedS = (performance.now() - started) / 1000;
      const cpu = (await cpuMs(child.pid)) - cpuBefore;
      const sandboxCpu = (await cpuMs(sandboxChild.pid)) - sandboxCpuBefore;
      const graph = (await graphRequests(sandboxBase)) - graphBefore;
      const lag = await pollingLag(mailroomBase);
      const after = await readMemory(child.pid);
      const dbAfter = await dirBytes(dataDir);
      const cpuPerAccount = cpu / elapsedS / size;
      const graphPerHour = (graph / size) * (3600 / elapsedS);
      const dbGrowthPerMessage = delivered > 0 ? (dbAfter - dbBefore) / delivered : 0;
      const rows: (string | number)[][] = [
        ["mailboxes", size],
        ["connect (native), s", round(connectS, 1)],
        ["RSS idle before connect, MiB", round(idle.rssMiB, 1)],
        ["RSS after window, MiB (peak)", `${round(after.rssMiB, 1)} (${round(peakRss, 1)})`],
        ["RSS per account, KiB", round(((after.rssMiB - idle.rssMiB) * 1024) / size, 1)],
        ["CPU per account, ms/s", round(cpuPerAccount, 3)],
        ["CPU per account per hour, s", round((cpuPerAccount * 3600) / 1000, 2)],
        ["polling lag p99 / max, s", `${round(lag.p99, 1)} / ${round(lag.max, 1)}`],
        [
          "polls a second (needed at 30 s)",
          `${round((lag.polls - pollsBefore) / elapsedS, 1)} (${round(size / POLL_S, 1)})`,
        ],
        [
          "CPU: Mailroom / sandbox, cores",
          `${round(cpu / elapsedS / 1000, 2)} / ${round(sandboxCpu / elapsedS / 1000, 2)}`,
        ],
        ["interval stretch", lag.stretch],
        ["Graph requests per mailbox per hour", round(graphPerHour, 1)],
        ["Graph requests per poll (÷ 120 polls/h)", round(graphPerHour / (3600 / POLL_S), 2)],
        ["DB size per account, KiB", round(dbAfter / 1024 / size, 1)],
        [
          "DB growth per account per day (extrapolated), KiB",
          round((dbGrowthPerMessage * MAIL_PER_MAILBOX_PER_DAY) / 1024, 1),
        ],
        ["inbound mail delivered in window", delivered],
      ];
      return {
        status: "ok",
        table: {
          title: `fleet — ${size} polled mailboxes at ${POLL_S} s, ${round(elapsedS, 0)} s window (real time)`,
          columns: ["measure", "value"],
          rows,
          notes: [
            "Real time, not compressed: CPU, lag and Graph requests are measured over the window; mail arrives at 10× 50/mailbox/day, and the day's DB growth is extrapolated from the bytes per delivered message.",
          ],
        },
        data: Object.fromEntries(rows.map(([k, v]) => [k, v])),
      };
    } finally {
      await child?.stop();
      await sandboxChild.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
