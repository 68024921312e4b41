// `npm run bench [-- <scenario>…] [--duration S] [--warmup S] [--connections N] [--rounds N]
// [--cold-runs N] [--cpu-prof]` — runs Mailroom and a baseline side by side in one run and reports
// the ratio. Speed is reported, never asserted: the exit code is non-zero only for a broken run
// (a server that failed to start, request errors, non-2xx responses).
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT, stopAll } from "./lib/processes.ts";
import type { Scenario, ScenarioResult, Settings, Table } from "./lib/scenario.ts";
import { accounts } from "./scenarios/accounts.ts";
import { attachments } from "./scenarios/attachments.ts";
import { coldStart } from "./scenarios/cold-start.ts";
import { connect } from "./scenarios/connect.ts";
import { emailGet } from "./scenarios/email-get.ts";
import { emailList, emailListMeta } from "./scenarios/email-list.ts";
import { emailRaw } from "./scenarios/email-raw.ts";
import { emailSearch } from "./scenarios/email-search.ts";
import { fleet } from "./scenarios/fleet.ts";
import { memory } from "./scenarios/memory.ts";
import { sandbox } from "./scenarios/sandbox.ts";
import { scale } from "./scenarios/scale.ts";
import { scheduled } from "./scenarios/scheduled.ts";
import { tracking } from "./scenarios/tracking.ts";
import { webhooks } from "./scenarios/webhooks.ts";

const SCENARIOS: Scenario[] = [
  accounts,
  coldStart,
  memory,
  sandbox,
  connect,
  emailList,
  emailListMeta,
  emailGet,
  emailSearch,
  emailRaw,
  attachments,
  webhooks,
  tracking,
  scale,
  fleet,
  scheduled,
];
const RESULTS_DIR = join(REPO_ROOT, "bench/results");
const PROFILE_DIR = join(RESULTS_DIR, "profiles");

const USAGE = `Usage: npm run bench [-- [scenario…] [options]]

Scenarios: ${SCENARIOS.map((s) => s.name).join(", ")} (default: all but fleet and scheduled)
${SCENARIOS.map((s) => `  ${s.name.padEnd(11)} ${s.describe}`).join("\n")}

Options:
  --duration S      seconds per measured load run (default 10)
  --warmup S        seconds of warm-up load per server (default 2)
  --connections N   concurrent connections (default 20)
  --rounds N        measured runs per server, alternating order (default 3)
  --cold-runs N     cold starts per server (default 5)
  --cpu-prof        write CPU profiles of the measured server (not the baseline) to
                    bench/results/profiles/; summarize with bench/profile-summary.ts
  -h, --help        this text
`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    throw new UsageError(`--${name} must be an integer from 1 to 600, got "${raw}"`);
  }
  return value;
}

class UsageError extends Error {}

function parseCli(argv: string[]): { scenarios: Scenario[]; settings: Settings } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      rounds: { type: "string" },
      "cold-runs": { type: "string" },
      "cpu-prof": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const unknown = positionals.filter((p) => !SCENARIOS.some((s) => s.name === p));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(", ")}`);
  // `fleet` takes minutes and thousands of mailboxes: only when named.
  const scenarios =
    positionals.length === 0
      ? SCENARIOS.filter((s) => s.name !== "fleet" && s.name !== "scheduled")
      : SCENARIOS.filter((s) => positionals.includes(s.name));
  return {
    scenarios,
    settings: {
      durationS: positiveInt("duration", values.duration, 10),
      warmupS: positiveInt("warmup", values.warmup, 2),
      connections: positiveInt("connections", values.connections, 20),
      rounds: positiveInt("rounds", values.rounds, 3),
      coldStartRuns: positiveInt("cold-runs", values["cold-runs"], 5),
      subjectNodeFlags: values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [],
    },
  };
}

function machine() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${release()}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function formatTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  const out = [
    table.title,
    `  ${line(table.columns)}`,
    `  ${widths.map((w) => "-".repeat(w)).join("  ")}`,
    ...cells.slice(1).map((row) => `  ${line(row)}`),
    ...(table.notes ?? []).map((n) => `  ${n}`),
  ];
  return out.join("\n");
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { scenarios, settings } = parsed;
  const box = machine();
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(
    `Machine: ${box.cpus} × ${box.cpuModel}, ${box.memoryGiB} GiB, Node ${box.node}, ${box.platform}, load ${box.loadAverage.join(" ")}`,
  );
  log(
    `Settings: ${settings.connections} connections, ${settings.warmupS}s warm-up, ${settings.rounds} × ${settings.durationS}s per server, ${settings.coldStartRuns} cold starts${settings.subjectNodeFlags.length > 0 ? ", CPU profiling ON (numbers not comparable)" : ""}`,
  );
  if (settings.subjectNodeFlags.length > 0) await mkdir(PROFILE_DIR, { recursive: true });

  const results: Record<string, ScenarioResult> = {};
  for (const scenario of scenarios) {
    log(`\n▶ ${scenario.name}: ${scenario.describe}`);
    let result: ScenarioResult;
    try {
      result = await scenario.run(settings, log);
    } catch (error) {
      result = { status: "broken", error: error instanceof Error ? error.message : String(error) };
    }
    await stopAll();
    results[scenario.name] = result;
    if (result.status === "broken") log(`  BROKEN: ${result.error}`);
    if (result.status === "skipped") log(`  skipped: ${result.reason}`);
  }

  log("\n══ Results ══");
  log(`Machine: ${box.cpus} CPUs (${box.cpuModel}), Node ${box.node}`);
  for (const [name, result] of Object.entries(results)) {
    log("");
    if (result.status === "ok") log(formatTable(result.table));
    else if (result.status === "skipped") log(`${name} — skipped: ${result.reason}`);
    else log(`${name} — BROKEN: ${result.error.split("\n")[0]}`);
  }

  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, "latest.json");
  await writeFile(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: box, settings, scenarios: results }, null, 2)}\n`,
  );
  log(`\nWrote ${file}`);
  const broken = Object.entries(results).filter(([, r]) => r.status === "broken");
  if (broken.length > 0) {
    log(`Broken run: ${broken.map(([n]) => n).join(", ")}`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await stopAll();
}
process.exit(code);
