// Throughput and latency of GET /api/v1/accounts (API-key auth, SQLite query, schema serialization)
// against a bare Fastify hello-world on the same Node: the ratio is what Mailroom's stack costs.
import { compare } from "../lib/load.ts";
import type { Scenario } from "../lib/scenario.ts";
import { startBaseline, startMailroom, type Target } from "../lib/targets.ts";

export const accounts: Scenario = {
  name: "accounts",
  describe: "GET /api/v1/accounts (X-API-KEY) vs bare Fastify GET /",
  async run(settings, log) {
    const started: Target[] = [];
    try {
      const baseline = await startBaseline();
      started.push(baseline);
      const mailroom = await startMailroom({ withApiKey: true, nodeFlags: settings.subjectNodeFlags });
      started.push(mailroom);
      const result = await compare(mailroom, baseline, settings, log);
      return {
        status: "ok",
        table: {
          title: `accounts — ${settings.connections} connections, ${settings.rounds} × ${settings.durationS}s each, medians`,
          columns: ["target", "route", "req/s", "p50 ms", "p99 ms"],
          rows: [
            [
              "mailroom",
              result.subject.path,
              result.subject.requestsPerS,
              result.subject.p50Ms,
              result.subject.p99Ms,
            ],
            [
              "baseline",
              result.baseline.path,
              result.baseline.requestsPerS,
              result.baseline.p50Ms,
              result.baseline.p99Ms,
            ],
          ],
          notes: [
            `throughput ratio mailroom/baseline: ${result.ratio} (per round: ${result.roundRatios.join(", ")}; aim ≥ 0.5)`,
          ],
        },
        data: { ...result, aimRatio: 0.5, aimMet: result.ratio >= 0.5 },
      };
    } finally {
      await Promise.all(started.map((t) => t.stop()));
    }
  },
};
