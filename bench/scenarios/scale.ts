// Scaled mode's throughput: inbound mail injected at a separate sandbox process (`mailroom sandbox`)
// → delta polling (POLL_INTERVAL_SECONDS=1; the CLI sandbox posts no change notifications to http)
// → webhook delivered to a receiver in this process, for (a) the embedded mode (one process, SQLite,
// the SQL job runner), (b) one process on PostgreSQL + Redis (BullMQ, shared limits) and (c) two
// processes on PostgreSQL + Redis, in one run. Per configuration: events delivered per second, the
// injection → delivery p50/p99, CPU milliseconds per delivered event of each Mailroom process (from
// /proc/<pid>/stat), and the sandbox's highest per-mailbox concurrency. Beside them, for reading the
// results on a small shared machine: the CPU per event of every process the pipeline runs on (the
// Mailroom processes, the sandbox, this bench with its receiver and injection, PostgreSQL and Redis),
// of the PostgreSQL and Redis servers alone, the machine's idle share during the burst (/proc/stat,
// others' work on the machine included), and the Graph requests per event.
import { readdirSync, readFileSync } from "node:fs";
import { SEEDED_USERS } from "../../sandbox/src/seed.ts";
import { startReceiver } from "../../test/support/connect-harness.ts";
import { type Fleet, injectMail, mailReceived, startFleet } from "../../test/support/fleet.ts";
import type { Scenario, Settings } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

const BURST = 600;
const INJECT_CONCURRENCY = 8;
const DRAIN_TIMEOUT_MS = 60_000;
/** The seeded contoso mailboxes, and more added through the sandbox's admin API. */
const SEEDED = SEEDED_USERS.filter(
  (u) => u.kind === "work" && u.hasMailbox && u.email.includes("contoso"),
).map((u) => u.email);
const ADDED = Array.from({ length: 9 }, (_, i) => `scale.user${i}@contoso.onmicrosoft.com`);
/**
 * Enough mailboxes that more than one sync can run at once: each mailbox syncs one round at a time
 * (its exclusive key), so with few mailboxes a second process has nothing to take over.
 */
const USERS = [...SEEDED, ...ADDED];
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICKS_PER_S = 100;

interface Configuration {
  label: string;
  mode: "embedded" | "scaled";
  processes: number;
}

const CONFIGURATIONS: Configuration[] = [
  { label: "(a) embedded: 1 process, SQLite", mode: "embedded", processes: 1 },
  { label: "(b) scaled: 1 process, PostgreSQL + Redis", mode: "scaled", processes: 1 },
  { label: "(c) scaled: 2 processes, PostgreSQL + Redis", mode: "scaled", processes: 2 },
];

interface Measured {
  label: string;
  delivered: number;
  perS: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * From the first injection to the last one answered, in s: with polling every second the last
   * delivery cannot come much sooner than a poll after this, whatever the processes.
   */
  injectS: number;
  cpuMsPerEvent: number[];
  peakConcurrency: number;
  duplicates: number;
  /**
   * CPU per delivered event of every process in the pipeline (Mailroom, the sandbox, this bench,
   * PostgreSQL and Redis), in ms.
   */
  pipelineCpuMsPerEvent: number;
  /** Share of the machine's CPU time left idle during the burst, in %. */
  machineIdlePercent: number;
  /** CPU of the PostgreSQL and Redis server processes per delivered event, in ms (0 in embedded mode). */
  serverCpuMsPerEvent: number;
  /** Graph requests the sandbox answered per delivered event. */
  graphRequestsPerEvent: number;
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/** The machine's busy and idle CPU time so far, in ms (all cores; iowait counts as idle). */
function machineCpuMs(): { busy: number; idle: number } {
  const [, ...fields] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return { busy: ((total - idle) * 1000) / TICKS_PER_S, idle: (idle * 1000) / TICKS_PER_S };
}

/**
 * CPU time of the database and Redis server processes so far, in ms (every postgres and redis-server
 * process on the machine, so others' use of the shared servers counts too).
 */
function serverCpuMs(): number {
  let sum = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (comm === "postgres" || comm === "redis-server") sum += cpuMs(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return sum;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function measure(
  configuration: Configuration,
  settings: Settings,
  log: (line: string) => void,
): Promise<Measured> {
  const receiver = await startReceiver();
  let fleet: Fleet | undefined;
  try {
    fleet = await startFleet({
      processes: configuration.processes,
      mode: configuration.mode,
      // --cpu-prof profiles every Mailroom process (not the sandbox); a profile is written at exit.
      // SCALE_NODE_ARGS adds Node flags too (e.g. `--import ./count-queries.mjs` to count statements).
      nodeArgs: [...settings.subjectNodeFlags, ...(process.env.SCALE_NODE_ARGS?.split(" ") ?? [])],
      env: {
        POLL_INTERVAL_SECONDS: "1",
        GRAPH_SUBSCRIPTIONS: "off",
      },
    });
    for (const email of ADDED) await fleet.sandbox.admin("/_sandbox/users", { email, kind: "work" });
    for (const email of USERS) await fleet.connect(email);
    await fleet.createWebhook(receiver.url);
    // Ready when every mailbox announces a probe: mail landing during the baseline sync is history.
    const pending = new Set(USERS);
    for (let round = 0; pending.size > 0; round++) {
      if (round > 40) throw new Error(`no probe delivered for ${[...pending].join(", ")}`);
      for (const email of pending) await injectMail(fleet.sandbox, email, `probe ${email} ${round}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const seen = new Set(mailReceived(receiver.received).map((e) => e.subject));
      for (const email of [...pending]) if (seen.has(`probe ${email} ${round}`)) pending.delete(email);
    }

    await fleet.sandbox.admin("/_sandbox/stats/reset", {});
    const arrivals = new Map<string, number>();
    const countFrom = receiver.received.length;
    let scanned = countFrom;
    const collect = () => {
      for (; scanned < receiver.received.length; scanned++) {
        const request = receiver.received[scanned]!;
        const [event] = mailReceived([request]);
        if (event && !arrivals.has(event.subject)) arrivals.set(event.subject, performance.now());
      }
    };
    // The receiver records requests as they come; stamp arrivals as soon as they are seen.
    const stamp = setInterval(collect, 5);
    const cpuBefore = fleet.processes.map((p) => cpuMs(p.child.pid!));
    const machineBefore = machineCpuMs();
    const serverBefore = serverCpuMs();
    const sandboxBefore = cpuMs(fleet.sandbox.child.pid!);
    const benchBefore = process.cpuUsage();
    const injectedAt = new Map<string, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: INJECT_CONCURRENCY }, async () => {
        while (next < BURST) {
          const subject = `scale ${next++}`;
          injectedAt.set(subject, performance.now());
          await injectMail(fleet!.sandbox, USERS[next % USERS.length]!, subject);
        }
      }),
    );
    const injectEnd = performance.now();
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (arrivals.size < BURST && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    clearInterval(stamp);
    collect();
    const cpuAfter = fleet.processes.map((p) => cpuMs(p.child.pid!));
    const machineAfter = machineCpuMs();
    const serverAfter = serverCpuMs();
    const sandboxMs = cpuMs(fleet.sandbox.child.pid!) - sandboxBefore;
    const bench = process.cpuUsage(benchBefore);
    const benchMs = (bench.user + bench.system) / 1000;
    const latencies = [...injectedAt]
      .filter(([subject]) => arrivals.has(subject))
      .map(([subject, at]) => arrivals.get(subject)! - at)
      .sort((a, b) => a - b);
    const first = Math.min(...injectedAt.values());
    const last = Math.max(...arrivals.values());
    const stats = await fleet.sandbox.stats();
    const events = mailReceived(receiver.received.slice(countFrom)).filter((e) =>
      e.subject.startsWith("scale "),
    );
    const result: Measured = {
      label: configuration.label,
      delivered: arrivals.size,
      perS: round(arrivals.size / ((last - first) / 1000), 1),
      p50Ms: round(median(latencies), 0),
      p99Ms: round(percentile(latencies, 0.99), 0),
      injectS: round((injectEnd - first) / 1000, 2),
      cpuMsPerEvent: cpuAfter.map((after, i) =>
        round((after - cpuBefore[i]!) / Math.max(1, arrivals.size), 2),
      ),
      peakConcurrency: Math.max(0, ...Object.values(stats.peak_concurrency)),
      duplicates: events.length - new Set(events.map((e) => e.subject)).size,
      pipelineCpuMsPerEvent: round(
        (cpuAfter.reduce((sum, after, i) => sum + after - cpuBefore[i]!, 0) +
          sandboxMs +
          benchMs +
          serverAfter -
          serverBefore) /
          Math.max(1, arrivals.size),
        2,
      ),
      machineIdlePercent: round(
        (100 * (machineAfter.idle - machineBefore.idle)) /
          Math.max(1, machineAfter.idle - machineBefore.idle + machineAfter.busy - machineBefore.busy),
        0,
      ),
      serverCpuMsPerEvent:
        configuration.mode === "embedded"
          ? 0
          : round((serverAfter - serverBefore) / Math.max(1, arrivals.size), 2),
      graphRequestsPerEvent: round(
        Object.values(stats.requests).reduce((sum, n) => sum + n, 0) / Math.max(1, arrivals.size),
        2,
      ),
    };
    log(`scale: ${configuration.label}: ${result.delivered}/${BURST} delivered, ${result.perS}/s`);
    return result;
  } finally {
    await fleet?.stop();
    await receiver.close();
  }
}

/** The round whose events/s is the median of the configuration's rounds (its other figures go with it). */
function medianRound(rounds: Measured[]): Measured {
  const sorted = [...rounds].sort((x, y) => x.perS - y.perS);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export const scale: Scenario = {
  name: "scale",
  describe:
    "inbound mail at a separate sandbox process → webhooks/s, p50/p99 and CPU ms per event per process: embedded vs 1 and 2 processes on PostgreSQL + Redis",
  async run(settings, log) {
    // SCALE_ONLY=b (or ab, bc, …) runs only those configurations, to profile one alone.
    const only = process.env.SCALE_ONLY;
    const configurations = CONFIGURATIONS.filter((c) => !only || only.includes(c.label[1]!));
    // Rounds run the configurations in turn (a, b, c, a, b, c, …), so a burst of load from others on
    // this shared machine falls on every configuration alike rather than on the one running then.
    const rounds: Measured[][] = configurations.map(() => []);
    for (let round_ = 0; round_ < settings.rounds; round_++)
      for (const [i, configuration] of configurations.entries()) {
        log(
          `scale: round ${round_ + 1}/${settings.rounds} ${configuration.label}, burst of ${BURST} to ${USERS.length} mailboxes`,
        );
        rounds[i]!.push(await measure(configuration, settings, log));
      }
    const results = rounds.map(medianRound);
    for (const r of rounds.flat()) log(`scale: ${JSON.stringify(r)}`);
    if (results.length < 3) return { status: "broken", error: "only some configurations were run" };
    const [a, b, c] = results as [Measured, Measured, Measured];
    const broken = rounds.flat().some((r) => r.delivered < BURST);
    if (broken)
      return {
        status: "broken",
        error: `not every event was delivered: ${rounds
          .flat()
          .map((r) => `${r.label} ${r.delivered}/${BURST}`)
          .join("; ")}`,
      };
    const perRound = (i: number) => rounds.map((r) => r[i]!);
    const ratios = Array.from({ length: settings.rounds }, (_, i) => {
      const [ra, rb, rc] = perRound(i) as [Measured, Measured, Measured];
      return `${round(rb.perS / ra.perS, 2)} / ${round(rc.perS / rb.perS, 2)}`;
    });
    return {
      status: "ok",
      table: {
        title: `scale: burst of ${BURST} inbound messages over ${USERS.length} mailboxes, delta polling every 1 s, median of ${settings.rounds} rounds`,
        columns: [
          "configuration",
          "delivered",
          "events/s (rounds)",
          "p50 ms",
          "p99 ms",
          "injection s",
          "CPU ms/event per process",
          "PostgreSQL + Redis CPU ms/event",
          "all processes CPU ms/event",
          "machine idle %",
          "Graph requests/event",
          "peak concurrency per mailbox",
          "duplicates",
        ],
        rows: results.map((r, i) => [
          r.label,
          `${r.delivered}/${BURST}`,
          `${r.perS} (${rounds[i]!.map((x) => x.perS).join(", ")})`,
          r.p50Ms,
          r.p99Ms,
          r.injectS,
          r.cpuMsPerEvent.join(" + "),
          r.serverCpuMsPerEvent,
          r.pipelineCpuMsPerEvent,
          r.machineIdlePercent,
          r.graphRequestsPerEvent,
          Math.max(...rounds[i]!.map((x) => x.peakConcurrency)),
          rounds[i]!.reduce((sum, x) => sum + x.duplicates, 0),
        ]),
        notes: [
          `(b)/(a) events/s: ${round(b.perS / a.perS, 2)} (aim ≥ 0.8); (c)/(b): ${round(c.perS / b.perS, 2)} (aim ≥ 1.3); per round (b)/(a) / (c)/(b): ${ratios.join("; ")}.`,
          "The sandbox, the load and every Mailroom process share this machine's cores; the sandbox posts no change notifications to http, so every event is found by delta polling.",
          "All processes: Mailroom, the sandbox, this bench (receiver and injection), PostgreSQL and Redis (every server process, so others' use of the shared servers counts too). Machine idle: the whole machine during the burst (injection to last delivery), others' work included; a configuration that leaves no idle CPU is bounded by the machine, and a second process can only add throughput where the first leaves some.",
        ],
      },
      data: { burst: BURST, mailboxes: USERS.length, results, rounds },
    };
  },
};
