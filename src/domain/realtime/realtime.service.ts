// Getting events from Microsoft. Per account: delta rounds over every folder (reference §3.8), run by
// a jittered poll schedule and, when PUBLIC_URL is https (or GRAPH_SUBSCRIPTIONS=on), woken early by a
// Graph subscription on me/messages (§4). The parts: poll-schedule.ts (when each account polls),
// sync.ts (one sync under a lease) with sync-planner.ts (what a sync decides, pure),
// subscription-lifecycle.ts, notifications.ts (what Graph posts) and realtime.jobs.ts (the job kinds).
import type { AccountPageCursor } from "../../storage/repositories/account.repository.ts";
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import type { AccountEvents } from "../accounts/account-events.ts";
import { NotificationIntake } from "./notifications.ts";
import { PollSchedule } from "./poll-schedule.ts";
import { HOUR, MINUTE, type RealtimeDeps } from "./realtime.types.ts";
import { SubscriptionLifecycle } from "./subscription-lifecycle.ts";
import { SyncRunner } from "./sync.ts";

export { jitterOffset } from "./poll-schedule.ts";
export type {
  MailEventPublisher,
  RealtimeAccounts,
  RealtimeDeps,
  RealtimeOptions,
  SentOrigin,
  SentOriginLookup,
} from "./realtime.types.ts";
export { LIFECYCLE_PATH, NOTIFICATION_PATH } from "./realtime.types.ts";

const PAGE = 500;

export class RealtimeService {
  private readonly watchdogMs: number;
  private readonly polls: PollSchedule;
  private readonly syncs: SyncRunner;
  private readonly subscriptions: SubscriptionLifecycle;
  private readonly notifications: NotificationIntake;

  constructor(readonly d: RealtimeDeps) {
    this.watchdogMs = d.options.watchdogIntervalMs ?? MINUTE;
    this.polls = new PollSchedule(d);
    this.syncs = new SyncRunner(d);
    this.subscriptions = new SubscriptionLifecycle(d, this.polls);
    this.notifications = new NotificationIntake(d);
  }

  /** A newly connected (or reconnected) account: baseline sync now, subscription, poll schedule. */
  async start(accountId: string): Promise<void> {
    const now = this.d.clock.now();
    await this.d.repo.ensureAccount(accountId, now);
    await this.d.queue.enqueue(
      "realtime.sync",
      { accountId, reason: "connect" },
      { idempotencyKey: `realtime.sync:${accountId}:connect:${now}` },
    );
    if (this.d.options.subscriptionsEnabled)
      await this.d.queue.enqueue(
        "realtime.subscription",
        { accountId, action: "ensure" },
        { idempotencyKey: `realtime.subscription:${accountId}:ensure:${now}` },
      );
    await this.polls.schedulePoll(accountId);
  }

  /** At server start (every process may call it): the watchdog of the current slot reseeds every account. */
  async startAll(): Promise<void> {
    const slot = Math.floor(this.d.clock.now() / this.watchdogMs);
    await this.d.queue.enqueue(
      "realtime.watchdog",
      { slot },
      { idempotencyKey: `realtime.watchdog:${slot}` },
    );
  }

  /** Connect → start; deletion → forget the state (its tokens are gone, so Graph cleans up at expiry). */
  accountListener(): AccountEvents {
    return {
      accountConnected: async ({ account }) => {
        await this.start(account.id);
      },
      accountStatusChanged: async ({ account, message }) => {
        if (message === "DELETED") await this.d.repo.deleteAccount(account.id);
      },
    };
  }

  schedulePoll(accountId: string): Promise<void> {
    return this.polls.schedulePoll(accountId);
  }

  /** One delta sync of the account; "busy" when another sync holds the account's lease. */
  sync(accountId: string): Promise<"done" | "busy" | "skipped"> {
    return this.syncs.sync(accountId);
  }

  maintainSubscription(accountId: string, action: "ensure" | "reauthorize" | "recreate"): Promise<void> {
    return this.subscriptions.maintain(accountId, action);
  }

  acceptNotifications(body: unknown): Promise<{ accepted: number; rejected: number }> {
    return this.notifications.acceptNotifications(body);
  }

  acceptLifecycle(body: unknown): Promise<{ accepted: number; rejected: number }> {
    return this.notifications.acceptLifecycle(body);
  }

  /**
   * Repairs whatever is stale: every connected account gets its poll scheduled and, with
   * subscriptions on, a subscription that exists and is renewed well before expiry; failed ones are
   * retried after their backoff. Then schedules the next watchdog.
   */
  async watchdog(slot: number): Promise<void> {
    const now = this.d.clock.now();
    let after: AccountPageCursor | undefined;
    for (;;) {
      const accounts = await this.d.accounts.page(PAGE, after);
      for (const account of accounts) {
        if (account.status !== "OK") continue;
        await this.d.repo.ensureAccount(account.id, now);
        await this.polls.schedulePoll(account.id);
        if (!this.d.options.subscriptionsEnabled) continue;
        const row = await this.d.repo.findAccount(account.id);
        if (row && this.subscriptions.needsWork(row, now))
          await this.d.queue.enqueue(
            "realtime.subscription",
            { accountId: account.id, action: "ensure" },
            { idempotencyKey: `realtime.subscription:${account.id}:watchdog:${slot}` },
          );
      }
      const last = accounts.at(-1);
      if (accounts.length < PAGE || !last) break;
      after = { createdAt: last.created_at, id: last.id };
    }
    const next = slot + 1;
    await this.d.queue.enqueue(
      "realtime.watchdog",
      { slot: next },
      { idempotencyKey: `realtime.watchdog:${next}`, runAt: next * this.watchdogMs },
    );
  }

  /** For health views and tests: the account's realtime state. */
  async status(accountId: string): Promise<RealtimeAccountRow | undefined> {
    return this.d.repo.findAccount(accountId);
  }
}
