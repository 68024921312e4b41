// Builds the housekeeping service (docs/adr/0006-retention.md) with its metrics.
import type { Config } from "../config/config.ts";
import { HousekeepingService } from "../domain/housekeeping/housekeeping.service.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/logger.ts";
import type { Storage } from "../storage/db.ts";
import { HousekeepingRepository } from "../storage/repositories/housekeeping.repository.ts";
import type { JobRepository } from "../storage/repositories/job.repository.ts";
import type { Metrics } from "./metrics.ts";

export function createHousekeeping(
  config: Config,
  storage: Storage,
  jobs: JobRepository,
  clock: Clock,
  log: Logger,
  metrics: Metrics,
): HousekeepingService {
  return new HousekeepingService({
    repo: new HousekeepingRepository(storage.db),
    jobs,
    retention: config.retention,
    clock,
    log: log.child({ component: "housekeeping" }),
    onStart: () => metrics.housekeepingPassDeleted.reset(),
    onBatch: (step, deleted, soFar) => {
      metrics.housekeepingDeleted.inc({ step }, deleted);
      metrics.housekeepingPassDeleted.set({ step }, soFar);
    },
    onRun: (report) =>
      metrics.housekeepingLastRun.set(
        { outcome: report.complete ? "complete" : "aborted" },
        report.finishedAt / 1000,
      ),
  });
}
