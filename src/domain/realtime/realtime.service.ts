// Getting events from Microsoft. Per account: delta rounds over every folder (reference §3.8), run by
// a jittered recurring poll and, when PUBLIC_URL is https (or GRAPH_SUBSCRIPTIONS=on), woken early by a
// Graph subscription on me/messages (§4). The parts: poll-schedule.ts (when each account polls),
// sync.ts (one sync, under the account's exclusive key) with sync-planner.ts (what a sync decides, pure),
// subscription-lifecycle.ts, notifications.ts (what Graph posts) and realtime.jobs.ts (the job kinds).
import type { AccountPageCursor } from "../../storage/repositories/account.repository.ts";
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import type { AccountEvents } from "../accounts/account-events.ts";
import { NotificationIntake } from "./notifications.ts";
import { PollSchedule } from "./poll-schedule.ts";
import { HOUR, MINUTE, type RealtimeDeps, syncKey } from "./realtime.types.ts";
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
export { LIFECYCLE_PATH, NOTIFICATION_PATH, syncKey } from "./realtime.types.ts";

/** The watchdog's recurring job. */
export const WATCHDOG_SCHEDULE = "realtime.watchdog";

const PAGE = 500;
/** Index rows of messages gone this long are dropped (a move is seen within a few sync rounds). */
const GONE_RETENTION_MS = 7 * 24 * HOUR;

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
      { idempotencyKey: `realtime.sync:${accountId}:connect:${now}`, exclusiveKey: syncKey(accountId) },
    );
    if (this.d.options.subscriptionsEnabled)
      await this.d.queue.enqueue(
        "realtime.subscription",
        { accountId, action: "ensure" },
        { idempotencyKey: `realtime.subscription:${accountId}:ensure:${now}` },
      );
    await this.polls.schedulePoll(accountId);
  }

  /**
   * At server start (every process may call it): declares the recurring watchdog, which reseeds every
   * account. Its first declaration runs at once.
   */
  async startAll(): Promise<void> {
    await this.d.queue.schedule({
      name: WATCHDOG_SCHEDULE,
      kind: "realtime.watchdog",
      payload: {},
      everyMs: this.watchdogMs,
    });
  }

  /**
   * Connect → start; back to OK → poll again; any other status → stop polling (the watchdog and a
   * reconnect start it again); deletion → also forget the state (its tokens are gone, so Graph cleans
   * up the subscription at expiry).
   */
  accountListener(): AccountEvents {
    return {
      accountConnected: async ({ account }) => {
        await this.start(account.id);
      },
      accountStatusChanged: async ({ account, message }) => {
        if (message === "OK") return this.polls.schedulePoll(account.id);
        await this.polls.stopPolling(account.id);
        if (message === "DELETED") await this.d.repo.deleteAccount(account.id);
      },
    };
  }

  schedulePoll(accountId: string): Promise<void> {
    return this.polls.schedulePoll(accountId);
  }

  stopPolling(accountId: string): Promise<void> {
    return this.polls.stopPolling(accountId);
  }

  /** One delta sync of the account; its job holds the account's exclusive key (`syncKey`). */
  sync(accountId: string): Promise<"done" | "skipped"> {
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
   * retried after their backoff. Runs as a recurring job, once per `watchdogIntervalMs`.
   */
  async watchdog(): Promise<void> {
    const now = this.d.clock.now();
    const slot = Math.floor(now / this.watchdogMs);
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
    await this.d.repo.pruneGone(now - GONE_RETENTION_MS);
    await this.d.sentOrigin?.prune?.(now);
  }

  /** For health views and tests: the account's realtime state. */
  async status(accountId: string): Promise<RealtimeAccountRow | undefined> {
    return this.d.repo.findAccount(accountId);
  }
}
