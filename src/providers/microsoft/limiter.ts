// Outlook allows 4 concurrent requests per app + mailbox (reference §5); a 5th is answered 429
// MailboxConcurrency. The Graph client takes slots from a MailboxLimiter keyed by account id (one
// account = one mailbox of this app), which queues callers FIFO instead of rejecting them. A `$batch`
// weighs as many slots as Outlook runs at once for it (up to the limit).
//
// KeyedLimiter is the in-process implementation (embedded mode: one process); scaled mode passes the
// Redis one (src/redis/mailbox-limiter.ts), which holds across processes.
import {
  admitsNewcomer,
  type ConcurrencyLimiter,
  clampWeight,
  grantsFromHead,
  type Release,
  withSlots,
} from "../../lib/limits.ts";

/** What the Graph client needs: 4 slots per mailbox, FIFO, weighted. */
export type MailboxLimiter = ConcurrencyLimiter;

/** Outlook's limit of concurrent requests per app + mailbox. */
export const MAILBOX_CONCURRENCY = 4;

interface Waiter {
  weight: number;
  resolve: () => void;
}

interface Lane {
  inUse: number;
  queue: Waiter[];
}

export class KeyedLimiter implements MailboxLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(readonly maxConcurrent = MAILBOX_CONCURRENCY) {}

  run<T>(key: string, task: () => Promise<T>, weight = 1, signal?: AbortSignal): Promise<T> {
    return withSlots(this, key, task, weight, signal);
  }

  async acquire(key: string, weight = 1, signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const w = clampWeight(weight, this.maxConcurrent);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { inUse: 0, queue: [] };
      this.lanes.set(key, lane);
    }
    const current = lane;
    if (admitsNewcomer(current.inUse, current.queue.length, w, this.maxConcurrent)) {
      current.inUse += w;
    } else {
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = {
          weight: w,
          resolve: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const at = current.queue.indexOf(waiter);
          if (at < 0) return;
          current.queue.splice(at, 1);
          // The aborted caller may have blocked smaller ones behind it.
          this.drain(key, current);
          reject(signal?.reason);
        };
        current.queue.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      current.inUse -= w;
      this.drain(key, current);
    };
  }

  /** Slots in use for `key` (for metrics and tests). */
  inUse(key: string): number {
    return this.lanes.get(key)?.inUse ?? 0;
  }

  /** Callers waiting for `key`. */
  queued(key: string): number {
    return this.lanes.get(key)?.queue.length ?? 0;
  }

  private drain(key: string, lane: Lane): void {
    const granted = grantsFromHead(
      lane.inUse,
      lane.queue.map((waiter) => waiter.weight),
      this.maxConcurrent,
    );
    for (const waiter of lane.queue.splice(0, granted)) {
      lane.inUse += waiter.weight;
      waiter.resolve();
    }
    if (lane.inUse === 0 && lane.queue.length === 0) this.lanes.delete(key);
  }
}
