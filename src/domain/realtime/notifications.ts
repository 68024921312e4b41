// Incoming Graph notifications (the HTTP route calls these; they only enqueue, within Graph's 3 s).
import {
  clientStateMatches,
  parseChangeNotifications,
  parseLifecycleNotifications,
} from "../../providers/microsoft/subscriptions.ts";
import { type RealtimeDeps, syncKey } from "./realtime.types.ts";

/** Notifications of one account within this window share one sync (was a whole second). */
export const NOTIFICATION_WINDOW_MS = 250;
/** The sync starts this long after its window ends, for changes announced at the window's edge. */
const NOTIFICATION_SETTLE_MS = 50;

export class NotificationIntake {
  constructor(private readonly d: Pick<RealtimeDeps, "repo" | "queue" | "clock" | "log" | "emailCache">) {}

  /** Change notifications (reference §4.3): verified per item, then one debounced sync per account. */
  async acceptNotifications(body: unknown): Promise<{ accepted: number; rejected: number }> {
    let accepted = 0;
    let rejected = 0;
    const now = this.d.clock.now();
    const woken = new Set<string>();
    for (const item of parseChangeNotifications(body)) {
      const row = await this.d.repo.findBySubscription(item.subscriptionId);
      if (!row || !clientStateMatches(item.clientState, row.client_state_hash)) {
        rejected++;
        continue;
      }
      accepted++;
      woken.add(row.account_id);
      if (item.messageId) this.d.emailCache?.forget(row.account_id, [item.messageId]);
    }
    for (const accountId of woken) {
      await this.d.repo.updateAccount(accountId, { last_notification_at: now });
      // Microsoft says the mailbox changed: no process serves a page cached before this without asking
      // Graph again (docs/adr/0008-email-cache.md).
      await this.d.repo.bumpMailVersion(accountId);
      // One sync per account per window, run just after the window ends: a burst of notifications
      // collapses into one delta sync that starts after every change it announced. The window is
      // short (it adds up to its length to every event's latency); a sync that is still running
      // when the next window's sync is due holds the account's key, so they never overlap.
      const slot = Math.floor(now / NOTIFICATION_WINDOW_MS);
      await this.d.queue.enqueue(
        "realtime.sync",
        { accountId, reason: "notification" },
        {
          idempotencyKey: `realtime.sync:${accountId}:n:${slot}`,
          runAt: (slot + 1) * NOTIFICATION_WINDOW_MS + NOTIFICATION_SETTLE_MS,
          exclusiveKey: syncKey(accountId),
        },
      );
    }
    if (rejected > 0)
      this.d.log.warn({ rejected }, "Graph notifications with an unknown subscription or clientState");
    return { accepted, rejected };
  }

  /** Lifecycle notifications (reference §4.5). */
  async acceptLifecycle(body: unknown): Promise<{ accepted: number; rejected: number }> {
    let accepted = 0;
    let rejected = 0;
    const now = this.d.clock.now();
    const queue = this.d.queue;
    for (const item of parseLifecycleNotifications(body)) {
      const row = await this.d.repo.findBySubscription(item.subscriptionId);
      if (!row || !clientStateMatches(item.clientState, row.client_state_hash)) {
        rejected++;
        continue;
      }
      accepted++;
      const accountId = row.account_id;
      const key = `${accountId}:${item.subscriptionId}:${item.lifecycleEvent}:${now}`;
      switch (item.lifecycleEvent) {
        case "reauthorizationRequired":
          await queue.enqueue(
            "realtime.subscription",
            { accountId, action: "reauthorize" },
            { idempotencyKey: `realtime.lifecycle:${key}` },
          );
          break;
        case "subscriptionRemoved":
          await this.d.repo.updateAccount(accountId, { subscription_status: "none", updated_at: now });
          await queue.enqueue(
            "realtime.subscription",
            { accountId, action: "recreate" },
            { idempotencyKey: `realtime.lifecycle:${key}` },
          );
          await queue.enqueue(
            "realtime.sync",
            { accountId, reason: "missed" },
            { idempotencyKey: `realtime.lifecycle-sync:${key}`, exclusiveKey: syncKey(accountId) },
          );
          break;
        case "missed":
          await queue.enqueue(
            "realtime.sync",
            { accountId, reason: "missed" },
            { idempotencyKey: `realtime.lifecycle:${key}`, exclusiveKey: syncKey(accountId) },
          );
          break;
        default:
          this.d.log.info({ accountId, event: item.lifecycleEvent }, "Unknown Graph lifecycle event ignored");
      }
    }
    return { accepted, rejected };
  }
}
