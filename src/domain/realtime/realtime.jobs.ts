// The realtime job kinds: poll chain, sync, subscription maintenance and the watchdog.
import { type JobHandlerRegistry, RetryLaterError } from "../../jobs/queue.ts";
import type { RealtimeService } from "./realtime.service.ts";

export function registerRealtimeJobs(registry: JobHandlerRegistry, realtime: RealtimeService): void {
  registry.register({
    kind: "realtime.poll",
    concurrency: 16,
    maxAttempts: 1,
    handler: async ({ accountId }) => {
      const account = await realtime.d.accounts.findById(accountId);
      if (!account || account.status !== "OK") return;
      // The chain goes on whatever this round does; a failed round is retried by the next one.
      await realtime.schedulePoll(accountId);
      await realtime.sync(accountId);
    },
  });
  registry.register({
    kind: "realtime.sync",
    concurrency: 8,
    maxAttempts: 10,
    handler: async ({ accountId }) => {
      // A notification must not be lost behind a running sync: wait for it, then sync again.
      if ((await realtime.sync(accountId)) === "busy") throw new RetryLaterError(1_000);
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
    handler: async ({ slot }) => realtime.watchdog(slot),
  });
}
