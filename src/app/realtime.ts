// Wiring of realtime (delta polls, Graph subscriptions, the watchdog): its service, its job kinds
// and its listener for connected and removed accounts.

import type { Config } from "../config/config.ts";
import type { AccountEventHub } from "../domain/accounts/account-events.ts";
import { FolderDirectory } from "../domain/email/folder-directory.ts";
import { registerRealtimeJobs } from "../domain/realtime/realtime.jobs.ts";
import { RealtimeService } from "../domain/realtime/realtime.service.ts";
import type { RealtimeDeps } from "../domain/realtime/realtime.types.ts";
import type { JobHandlerRegistry } from "../jobs/queue.ts";
import type { Storage } from "../storage/db.ts";
import { RealtimeRepository } from "../storage/repositories/realtime.repository.ts";

export function createRealtime(
  d: Omit<RealtimeDeps, "repo" | "folders" | "options"> & {
    config: Config;
    storage: Storage;
    registry: JobHandlerRegistry;
    accountEvents: AccountEventHub;
  },
): RealtimeService {
  const { config, storage, registry, accountEvents, ...deps } = d;
  const realtime = new RealtimeService({
    ...deps,
    repo: new RealtimeRepository(storage.db),
    folders: new FolderDirectory(deps.graph, deps.clock),
    log: deps.log.child({ component: "realtime" }),
    options: {
      ...config.realtime,
      publicUrl: config.publicUrl,
      indexWindowMs: config.retention.realtimeIndexMs,
    },
  });
  registerRealtimeJobs(registry, realtime);
  accountEvents.add(realtime.accountListener());
  return realtime;
}
