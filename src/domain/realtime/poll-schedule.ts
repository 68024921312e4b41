// The poll chain of each account: one job per slot, at a fixed offset inside the interval, slower
// while a Graph subscription is healthy.
import type { RealtimeAccountRow } from "../../storage/repositories/realtime.repository.ts";
import { MINUTE, type RealtimeDeps } from "./realtime.types.ts";

export class PollSchedule {
  private readonly healthyPollMs: number;

  constructor(private readonly d: Pick<RealtimeDeps, "repo" | "queue" | "clock" | "options">) {
    const o = d.options;
    this.healthyPollMs = o.healthyPollIntervalMs ?? Math.max(o.pollIntervalMs, 10 * MINUTE);
  }

  /**
   * The next poll of the account, in its own slot: each account polls at a fixed offset inside the
   * interval (a hash of its id), so 10,000 accounts spread evenly instead of polling at once. The
   * idempotency key makes every caller (restarts, watchdog, the previous poll) agree on one job.
   */
  async schedulePoll(accountId: string): Promise<void> {
    const row = await this.d.repo.findAccount(accountId);
    const now = this.d.clock.now();
    const interval = row && isHealthy(row, now) ? this.healthyPollMs : this.d.options.pollIntervalMs;
    const offset = jitterOffset(accountId, interval);
    const slot = Math.floor((now - offset) / interval) + 1;
    await this.d.queue.enqueue(
      "realtime.poll",
      { accountId, slot },
      { idempotencyKey: `realtime.poll:${accountId}:${interval}:${slot}`, runAt: slot * interval + offset },
    );
  }
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
