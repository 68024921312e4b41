// Time from spawning the process to the first 200 on its readiness route: Mailroom's GET /ready
// (database answers) on a fresh DATA_DIR, the bare Fastify baseline's GET /. Both load through tsx.
import type { Scenario } from "../lib/scenario.ts";
import { max, median, min, round } from "../lib/stats.ts";
import { startBaseline, startMailroom, type Target } from "../lib/targets.ts";

const AIM_MS = 1_200;

export const coldStart: Scenario = {
  name: "cold-start",
  describe: "spawn → first 200 on /ready (mailroom, fresh DATA_DIR) vs spawn → first 200 (baseline)",
  async run(settings, log) {
    const times = { mailroom: [] as number[], baseline: [] as number[] };
    for (let i = 0; i < settings.coldStartRuns; i++) {
      // Alternate which goes first so a slow patch of the machine does not land on one side only.
      const order = i % 2 === 0 ? (["baseline", "mailroom"] as const) : (["mailroom", "baseline"] as const);
      for (const name of order) {
        const target: Target =
          name === "mailroom"
            ? await startMailroom({ nodeFlags: settings.subjectNodeFlags })
            : await startBaseline();
        await target.stop();
        times[name].push(round(target.startupMs, 0));
        log(`  run ${i + 1}/${settings.coldStartRuns} ${name.padEnd(8)} ${round(target.startupMs, 0)} ms`);
      }
    }
    const stats = (values: number[]) => ({
      medianMs: median(values),
      maxMs: max(values),
      minMs: min(values),
      runsMs: values,
    });
    const mailroom = stats(times.mailroom);
    const baseline = stats(times.baseline);
    const ratio = round(mailroom.medianMs / baseline.medianMs, 2);
    return {
      status: "ok",
      table: {
        title: `cold-start — spawn to first 200, ${settings.coldStartRuns} runs each, polled every 10 ms`,
        columns: ["target", "ready route", "median ms", "max ms", "min ms"],
        rows: [
          ["mailroom", "/ready", mailroom.medianMs, mailroom.maxMs, mailroom.minMs],
          ["baseline", "/", baseline.medianMs, baseline.maxMs, baseline.minMs],
        ],
        notes: [
          `mailroom/baseline: ${ratio}× (aim: mailroom median ≤ ${AIM_MS} ms — ${mailroom.medianMs <= AIM_MS ? "met" : "MISSED"})`,
        ],
      },
      data: { mailroom, baseline, ratio, aimMs: AIM_MS, aimMet: mailroom.medianMs <= AIM_MS },
    };
  },
};
