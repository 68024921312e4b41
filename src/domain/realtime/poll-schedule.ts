// The poll schedule of each account: a recurring job, at a fixed offset inside the interval, slower
// while a Graph subscription is healthy.
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import { MINUTE, type RealtimeDeps, syncKey } from "./realtime.types.ts";

export class PollSchedule {
  private readonly healthyPollMs: number;
  /** Every account's interval is the configured one × this (poll-stretch.ts; set by the watchdog). */
  stretch = 1;

  constructor(private readonly d: Pick<RealtimeDeps, "repo" | "queue" | "clock" | "options">) {
    const o = d.options;
    this.healthyPollMs = o.healthyPollIntervalMs ?? Math.max(o.pollIntervalMs, 10 * MINUTE);
  }

  /**
   * Declares (or re-declares, when the subscription's health changed the interval) the account's
   * recurring poll. Each account polls at a fixed offset inside the interval (a hash of its id), so
   * 10,000 accounts spread evenly instead of polling at once. Every caller (connect, subscription
   * changes, the watchdog, every process) declares the same schedule; an unchanged one writes nothing.
   */
  async schedulePoll(accountId: string): Promise<void> {
    const row = await this.d.repo.findAccount(accountId);
    const interval =
      row && isHealthy(row, this.d.clock.now())
        ? this.healthyPollMs
        : Math.round(this.d.options.pollIntervalMs * this.stretch);
    await this.d.queue.schedule({
      name: pollScheduleName(accountId),
      kind: "realtime.poll",
      payload: { accountId },
      everyMs: interval,
      offsetMs: jitterOffset(accountId, interval),
      exclusiveKey: syncKey(accountId),
      // Whoever declares the poll (connect, a reconnect, the watchdog) has a sync queued or running
      // already; polling at once as well would read every folder twice.
      firstSlot: "next",
    });
  }

  /** The account was removed or is no longer connected: no more polls. */
  async stopPolling(accountId: string): Promise<void> {
    await this.d.queue.unschedule(pollScheduleName(accountId));
  }
}

export function pollScheduleName(accountId: string): string {
  return `realtime.poll:${accountId}`;
}

export function isHealthy(row: RealtimeAccountRow, now: number): boolean {
  return (
    row.subscription_status === "active" &&
    row.subscription_expires_at !== null &&
    row.subscription_expires_at > now
  );
}

/** The account's fixed offset inside the poll interval (FNV-1a of its id). */
export function jitterOffset(accountId: string, intervalMs: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < accountId.length; i++) {
    hash ^= accountId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % Math.max(1, intervalMs);
}
