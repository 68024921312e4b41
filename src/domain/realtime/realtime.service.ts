// Getting events from Microsoft. Per account: delta rounds over every folder (reference §3.8), run by
// a jittered recurring poll and, when PUBLIC_URL is https (or GRAPH_SUBSCRIPTIONS=on), woken early by a
// Graph subscription on me/messages (§4). The parts: poll-schedule.ts (when each account polls),
// sync.ts (one sync, under the account's exclusive key) with sync-planner.ts (what a sync decides, pure),
// subscription-lifecycle.ts, notifications.ts (what Graph posts) and realtime.jobs.ts (the job kinds).
import type { AccountPageCursor } from "../../storage/repositories/account.repository.ts";
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import { type AccountEventListener, isConnection } from "../accounts/account-events.ts";
import { NotificationIntake } from "./notifications.ts";
import { PollSchedule } from "./poll-schedule.ts";
import { decideStretch } from "./poll-stretch.ts";
import { MINUTE, type RealtimeDeps, syncKey } from "./realtime.types.ts";
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

  /**
   * A newly connected (or reconnected) account: baseline sync now, subscription, poll schedule.
   * `startKey` names this start (the account event's id), so starting again with it queues nothing new.
   */
  async start(accountId: string, startKey?: string): Promise<void> {
    const now = this.d.clock.now();
    const key = startKey ?? String(now);
    await this.d.repo.ensureAccount(accountId, now);
    await this.d.queue.enqueue(
      "realtime.sync",
      { accountId, reason: "connect" },
      { idempotencyKey: `realtime.sync:${accountId}:connect:${key}`, exclusiveKey: syncKey(accountId) },
    );
    if (this.d.options.subscriptionsEnabled)
      await this.d.queue.enqueue(
        "realtime.subscription",
        { accountId, action: "ensure" },
        { idempotencyKey: `realtime.subscription:${accountId}:ensure:${key}` },
      );
    await this.polls.schedulePoll(accountId);
  }

  /**
   * Unipile's account restart: the subscription (created again unless it is active and fresh) or the
   * poll schedule set up again, and a catch-up sync. Restarts within one second share a start key, so
   * repeating the call queues nothing more. Only a usable account restarts: one that must sign in again
   * cannot, and neither can one whose jobs cannot be queued (logged).
   */
  async restart(accountId: string): Promise<"restarted" | "failed" | "not_found"> {
    const account = await this.d.accounts.findById(accountId);
    if (!account) return "not_found";
    if (account.status !== "OK") return "failed";
    try {
      await this.start(accountId, `restart:${Math.floor(this.d.clock.now() / 1000)}`);
      return "restarted";
    } catch (error) {
      this.d.log.error({ err: error, accountId }, "Cannot restart the account's realtime set-up");
      return "failed";
    }
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
   * Connect → start; must sign in again → stop polling (the watchdog and a reconnect start it again);
   * deletion → also forget the state (its tokens are gone, so Graph cleans up the subscription at
   * expiry). Events may be delivered late or out of order: a connect starts only an account that still
   * exists and is usable, so a late CREATION_SUCCESS cannot revive a deleted account's state.
   */
  accountListener(): AccountEventListener {
    return {
      name: "realtime",
      handle: async (event) => {
        if (isConnection(event)) {
          const account = await this.d.accounts.findById(event.accountId);
          if (account?.status === "OK") await this.start(event.accountId, event.id);
          return;
        }
        if (event.type === "DELETED") {
          this.d.emailCache?.forgetAccount(event.accountId);
          await this.polls.stopPolling(event.accountId);
          await this.d.repo.deleteAccount(event.accountId);
          return;
        }
        // A CREDENTIALS event that arrives after a reconnect must not stop the reconnected account.
        const account = await this.d.accounts.findById(event.accountId);
        if (account?.status !== "OK") await this.polls.stopPolling(event.accountId);
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
    await this.restretch(now);
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
  }

  /**
   * Recomputes the poll stretch from the measured lag (poll-stretch.ts); a change is logged once and
   * re-declares every schedule in the same watchdog pass.
   */
  private async restretch(now: number): Promise<void> {
    const lag = await this.d.repo.pollingLag(now);
    const current = this.polls.stretch;
    const next = decideStretch(lag, { intervalMs: this.d.options.pollIntervalMs, current });
    if (next === current) return;
    this.polls.stretch = next;
    const fields = {
      factor: next,
      effectiveIntervalMs: Math.round(this.d.options.pollIntervalMs * next),
      lagP99Ms: lag.p99Ms,
      lagMaxMs: lag.maxMs,
      accounts: lag.accounts,
    };
    if (next > current) this.d.log.warn(fields, "Polling cannot keep up: every poll interval is stretched");
    else if (next === 1) this.d.log.warn(fields, "Polling has caught up: poll intervals are back to normal");
    else this.d.log.warn(fields, "Polling is catching up: poll intervals are stretched less");
  }

  /** Polling health for `/metrics` and the dashboard: the lag now, and the stretch in force. */
  async pollingStatus(): Promise<{
    accounts: number;
    lagP99Ms: number;
    lagMaxMs: number;
    stretch: number;
    intervalMs: number;
    effectiveIntervalMs: number;
  }> {
    const lag = await this.d.repo.pollingLag(this.d.clock.now());
    const intervalMs = this.d.options.pollIntervalMs;
    const stretch = this.polls.stretch;
    return {
      accounts: lag.accounts,
      lagP99Ms: lag.p99Ms,
      lagMaxMs: lag.maxMs,
      stretch,
      intervalMs,
      effectiveIntervalMs: Math.round(intervalMs * stretch),
    };
  }

  /** For health views and tests: the account's realtime state. */
  async status(accountId: string): Promise<RealtimeAccountRow | undefined> {
    return this.d.repo.findAccount(accountId);
  }
}
