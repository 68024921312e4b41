// The realtime job kinds: the recurring poll, sync, subscription maintenance and the watchdog. Poll and
// sync jobs carry the account's exclusive key (`syncKey`), so they never overlap for one account.
import type { JobHandlerRegistry } from "../../jobs/queue.ts";
import type { RealtimeService } from "./realtime.service.ts";

export function registerRealtimeJobs(registry: JobHandlerRegistry, realtime: RealtimeService): void {
  registry.register({
    kind: "realtime.poll",
    // A poll mostly waits on Graph: this many in flight keep up with ~this ÷ Graph's latency a second.
    concurrency: realtime.d.options.pollConcurrency ?? 64,
    // A failed round is not retried: the next slot polls again.
    maxAttempts: 1,
    // An account gone or no longer connected is skipped by the sync, and then stops polling.
    handler: async ({ accountId }) => {
      if ((await realtime.sync(accountId)) === "skipped") await realtime.stopPolling(accountId);
    },
  });
  registry.register({
    kind: "realtime.sync",
    concurrency: 8,
    maxAttempts: 10,
    handler: async ({ accountId }) => {
      await realtime.sync(accountId);
    },
  });
  registry.register({
    kind: "realtime.subscription",
    concurrency: 4,
    maxAttempts: 3,
    handler: async ({ accountId, action }) => realtime.maintainSubscription(accountId, action),
  });
  registry.register({
    kind: "realtime.watchdog",
    concurrency: 1,
    maxAttempts: 3,
    handler: async () => realtime.watchdog(),
  });
}
