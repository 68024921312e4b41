// The housekeeping job: one run per period, once per slot across every process (the slot is the
// idempotency key, as the token-refresh sweep and the realtime watchdog do). Each run enqueues the
// next slot before it starts working, so a run that fails does not end the chain.
import type { JobHandlerRegistry, JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { HousekeepingService } from "./housekeeping.service.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "housekeeping.run": { slot: number };
  }
}

export class HousekeepingJobs {
  constructor(
    private readonly d: { service: HousekeepingService; queue: JobQueue; clock: Clock; everyMs: number },
  ) {}

  /** Enqueues the current slot's run; every process may call it at start-up. */
  async schedule(): Promise<void> {
    const slot = Math.floor(this.d.clock.now() / this.d.everyMs);
    await this.d.queue.enqueue("housekeeping.run", { slot }, { idempotencyKey: `housekeeping:${slot}` });
  }

  register(registry: JobHandlerRegistry): void {
    registry.register({
      kind: "housekeeping.run",
      concurrency: 1,
      maxAttempts: 3,
      handler: async ({ slot }, ctx) => {
        const next = slot + 1;
        await this.d.queue.enqueue(
          "housekeeping.run",
          { slot: next },
          { idempotencyKey: `housekeeping:${next}`, runAt: next * this.d.everyMs },
        );
        await this.d.service.run(ctx.signal);
      },
    });
  }
}
