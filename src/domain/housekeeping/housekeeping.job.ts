// The housekeeping job: a recurring job (`queue.schedule`), so each period's run happens once across
// every process, and every process may declare it at start-up.
import type { JobHandlerRegistry, JobQueue } from "../../jobs/queue.ts";
import type { HousekeepingService } from "./housekeeping.service.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "housekeeping.run": Record<string, never>;
  }
}

export const HOUSEKEEPING_SCHEDULE = "housekeeping";

export class HousekeepingJobs {
  constructor(private readonly d: { service: HousekeepingService; queue: JobQueue; everyMs: number }) {}

  /** Declares (or re-declares, with a changed period) the recurring run. */
  async schedule(): Promise<void> {
    await this.d.queue.schedule({
      name: HOUSEKEEPING_SCHEDULE,
      kind: "housekeeping.run",
      payload: {},
      everyMs: this.d.everyMs,
    });
  }

  register(registry: JobHandlerRegistry): void {
    registry.register({
      kind: "housekeeping.run",
      concurrency: 1,
      maxAttempts: 3,
      handler: async (_payload, ctx) => {
        await this.d.service.run(ctx.signal);
      },
    });
  }
}
