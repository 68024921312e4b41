// Graph subscriptions on me/messages (reference §4): created when missing, renewed well before
// expiry, reauthorized on request, recreated on 404 or `subscriptionRemoved`. Failures are recorded
// with a backoff for the watchdog and never thrown into onboarding; polling covers the gap.
import { AppError } from "../../lib/errors.ts";
import {
  createSubscription,
  deleteSubscription,
  hashClientState,
  newClientState,
  reauthorizeSubscription,
  renewSubscription,
} from "../../providers/microsoft/subscriptions.ts";
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import { jitterOffset, type PollSchedule } from "./poll-schedule.ts";
import { HOUR, LIFECYCLE_PATH, NOTIFICATION_PATH, type RealtimeDeps, syncKey } from "./realtime.types.ts";

export class SubscriptionLifecycle {
  private readonly lifetimeMs: number;
  private readonly renewBeforeMs: number;

  constructor(
    private readonly d: Pick<
      RealtimeDeps,
      "repo" | "accounts" | "graph" | "queue" | "clock" | "log" | "options"
    >,
    private readonly polls: PollSchedule,
  ) {
    this.lifetimeMs = d.options.subscriptionLifetimeMs ?? 72 * HOUR;
    this.renewBeforeMs = d.options.renewBeforeMs ?? 24 * HOUR;
  }

  /** Whether the watchdog should ask for an `ensure`: missing, close to expiry, or failed and due again. */
  needsWork(row: RealtimeAccountRow, now: number): boolean {
    if (row.subscription_status === "active")
      return (
        row.subscription_expires_at === null ||
        now >= renewalAt(row.subscription_expires_at, row.account_id, this.renewBeforeMs)
      );
    if (row.subscription_status === "failed")
      return row.subscription_retry_at === null || row.subscription_retry_at <= now;
    return row.subscription_status === "none";
  }

  async maintain(accountId: string, action: "ensure" | "reauthorize" | "recreate"): Promise<void> {
    if (!this.d.options.subscriptionsEnabled) return;
    const account = await this.d.accounts.findById(accountId);
    if (!account || account.status !== "OK") return;
    // A shared mailbox is polled only: the delegated .Shared permissions do not cover change
    // notifications on another user's mailbox (learn.microsoft.com/graph/outlook-share-messages-folders).
    if (account.delegate_account_id) return;
    const now = this.d.clock.now();
    await this.d.repo.ensureAccount(accountId, now);
    const row = await this.d.repo.findAccount(accountId);
    if (!row) return;
    const id = row.subscription_id;
    try {
      if (id && action === "reauthorize") {
        await reauthorizeSubscription(this.d.graph, accountId, id).catch(async (error) => {
          if (isNotFound(error)) throw error;
          // Some tenants answer reauthorize with an error but accept a renewal (reference §4.5).
        });
        await this.renew(accountId, id);
        return;
      }
      if (id && action === "ensure" && row.subscription_status === "active") {
        if (
          row.subscription_expires_at !== null &&
          now < renewalAt(row.subscription_expires_at, accountId, this.renewBeforeMs)
        )
          return;
        await this.renew(accountId, id);
        return;
      }
      await this.create(accountId, row);
    } catch (error) {
      if (isNotFound(error) && action !== "recreate") {
        try {
          await this.create(accountId, row);
          return;
        } catch (again) {
          await this.recordFailure(accountId, row, again);
          return;
        }
      }
      await this.recordFailure(accountId, row, error);
    }
  }

  private async renew(accountId: string, subscriptionId: string): Promise<void> {
    const expiresAt = this.d.clock.now() + this.lifetimeMs;
    const renewed = await renewSubscription(this.d.graph, accountId, subscriptionId, expiresAt);
    await this.d.repo.updateAccount(accountId, {
      subscription_status: "active",
      subscription_expires_at: Date.parse(renewed.expirationDateTime) || expiresAt,
      subscription_failures: 0,
      subscription_retry_at: null,
      subscription_error: null,
      updated_at: this.d.clock.now(),
    });
  }

  private async create(accountId: string, row: RealtimeAccountRow): Promise<void> {
    if (row.subscription_id)
      await deleteSubscription(this.d.graph, accountId, row.subscription_id).catch(() => {});
    const clientState = newClientState();
    const expiresAt = this.d.clock.now() + this.lifetimeMs;
    const base = this.d.options.publicUrl.replace(/\/+$/, "");
    const created = await createSubscription(this.d.graph, accountId, {
      notificationUrl: `${base}${NOTIFICATION_PATH}`,
      lifecycleNotificationUrl: `${base}${LIFECYCLE_PATH}`,
      clientState,
      expiresAt,
    });
    const now = this.d.clock.now();
    await this.d.repo.updateAccount(accountId, {
      subscription_id: created.id,
      client_state_hash: hashClientState(clientState),
      subscription_status: "active",
      subscription_expires_at: Date.parse(created.expirationDateTime) || expiresAt,
      subscription_failures: 0,
      subscription_retry_at: null,
      subscription_error: null,
      updated_at: now,
    });
    this.d.log.info({ accountId, subscriptionId: created.id }, "Graph subscription created");
    // Changes between the last sync and the subscription's start are caught up now.
    await this.d.queue.enqueue(
      "realtime.sync",
      { accountId, reason: "resubscribed" },
      {
        idempotencyKey: `realtime.sync:${accountId}:subscribed:${created.id}`,
        exclusiveKey: syncKey(accountId),
      },
    );
    await this.polls.schedulePoll(accountId);
  }

  private async recordFailure(accountId: string, row: RealtimeAccountRow, error: unknown): Promise<void> {
    const failures = row.subscription_failures + 1;
    const now = this.d.clock.now();
    const backoff = Math.min(HOUR, 30_000 * 2 ** Math.min(failures - 1, 10));
    await this.d.repo.updateAccount(accountId, {
      subscription_status: "failed",
      subscription_failures: failures,
      subscription_retry_at: now + backoff,
      subscription_error: (error as Error)?.message?.slice(0, 500) ?? String(error),
      updated_at: now,
    });
    this.d.log.warn(
      { accountId, err: error, failures, retryInMs: backoff },
      "Graph subscription failed; polling continues",
    );
    // Back on the normal poll interval while the subscription is down.
    await this.polls.schedulePoll(accountId);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof AppError && error.code === "resource_not_found";
}

/**
 * When an account's subscription is renewed: `renewBeforeMs` before it expires, and earlier by the
 * account's fixed offset within half of that (a hash of its id), so subscriptions created together
 * (10,000 accounts connected in one go) are not all renewed in the same watchdog minute. A renewal
 * keeps the offset, so the spread lasts.
 */
export function renewalAt(expiresAt: number, accountId: string, renewBeforeMs: number): number {
  return expiresAt - renewBeforeMs - jitterOffset(accountId, Math.floor(renewBeforeMs / 2));
}
