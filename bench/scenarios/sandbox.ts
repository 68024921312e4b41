// The Microsoft sandbox's Graph list-messages endpoint, straight at the sandbox, vs the bare
// Fastify baseline. The sandbox is what Mailroom's email API will sit on in tests, so it must be
// several times faster than Mailroom's own route; a later scenario compares the two directly.
import { compare } from "../lib/load.ts";
import { getText } from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { SkipScenario, startBaseline, startSandboxTarget, type Target } from "../lib/targets.ts";

export const sandbox: Scenario = {
  name: "sandbox",
  describe: "sandbox Graph GET /v1.0/me/messages?$top=50 (bearer token) vs bare Fastify GET /",
  async run(settings, log) {
    const started: Target[] = [];
    try {
      let sandboxTarget: Target;
      try {
        sandboxTarget = await startSandboxTarget(settings.subjectNodeFlags);
      } catch (error) {
        if (error instanceof SkipScenario) return { status: "skipped", reason: error.message };
        throw error;
      }
      started.push(sandboxTarget);
      const probe = await getText(sandboxTarget.port, sandboxTarget.path, sandboxTarget.headers);
      if (probe.status !== 200) {
        return {
          status: "skipped",
          reason: `sandbox answered ${probe.status} to GET ${sandboxTarget.path}: ${probe.body.slice(0, 200)}`,
        };
      }
      const parsed = JSON.parse(probe.body) as { value?: unknown[] };
      const messages = Array.isArray(parsed.value) ? parsed.value.length : 0;
      const baseline = await startBaseline();
      started.push(baseline);
      const result = await compare(sandboxTarget, baseline, settings, log);
      return {
        status: "ok",
        table: {
          title: `sandbox — ${settings.connections} connections, ${settings.rounds} × ${settings.durationS}s each, medians`,
          columns: ["target", "route", "req/s", "p50 ms", "p99 ms"],
          rows: [
            [
              "sandbox",
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
            `throughput ratio sandbox/baseline: ${result.ratio} (per round: ${result.roundRatios.join(", ")})`,
            `response: ${messages} messages, ${Buffer.byteLength(probe.body)} bytes`,
          ],
        },
        data: { ...result, responseMessages: messages, responseBytes: Buffer.byteLength(probe.body) },
      };
    } finally {
      await Promise.all(started.map((t) => t.stop()));
    }
  },
};
