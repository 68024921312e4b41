// Resident memory of the server process idle (after start) and after a load run, beside the bare
// Fastify baseline. VmRSS is now, VmHWM the peak since start, both from /proc/<pid>/status.
import { load } from "../lib/load.ts";
import { readMemory } from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { round } from "../lib/stats.ts";
import { startBaseline, startMailroom, type Target } from "../lib/targets.ts";

const IDLE_AIM_MIB = 100;

const SETTLE_MS = 1_000;

export const memory: Scenario = {
  name: "memory",
  describe: "RSS idle and after load (mailroom /api/v1/accounts vs baseline /)",
  async run(settings, log) {
    const started: Target[] = [];
    try {
      const baseline = await startBaseline();
      started.push(baseline);
      const mailroom = await startMailroom({ withApiKey: true, nodeFlags: settings.subjectNodeFlags });
      started.push(mailroom);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const rows: (string | number)[][] = [];
      const data: Record<string, unknown> = {};
      for (const target of [mailroom, baseline]) {
        const idle = await readMemory(target.child.pid);
        log(`  ${target.name} idle ${round(idle.rssMiB, 1)} MiB; loading ${settings.durationS}s`);
        await load(target, settings.connections, settings.durationS);
        const after = await readMemory(target.child.pid);
        rows.push([target.name, round(idle.rssMiB, 1), round(after.rssMiB, 1), round(after.peakRssMiB, 1)]);
        data[target.name] = {
          idleRssMiB: idle.rssMiB,
          afterLoadRssMiB: after.rssMiB,
          peakRssMiB: after.peakRssMiB,
        };
      }
      const m = data.mailroom as { idleRssMiB: number; afterLoadRssMiB: number };
      const b = data.baseline as { idleRssMiB: number; afterLoadRssMiB: number };
      return {
        status: "ok",
        table: {
          title: `memory — RSS of the server process, load ${settings.connections} connections × ${settings.durationS}s`,
          columns: ["target", "idle MiB", "after load MiB", "peak MiB"],
          rows,
          notes: [
            `mailroom/baseline RSS: idle ${round(m.idleRssMiB / b.idleRssMiB, 2)}×, after load ${round(m.afterLoadRssMiB / b.afterLoadRssMiB, 2)}×`,
            `aim: mailroom idle ≤ ${IDLE_AIM_MIB} MiB — ${m.idleRssMiB <= IDLE_AIM_MIB ? "met" : "MISSED"}`,
          ],
        },
        data: { ...data, idleAimMiB: IDLE_AIM_MIB, idleAimMet: m.idleRssMiB <= IDLE_AIM_MIB },
      };
    } finally {
      await Promise.all(started.map((t) => t.stop()));
    }
  },
};
