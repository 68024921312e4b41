// Outlook allows 4 concurrent requests per app + mailbox (reference §5); a 5th is answered 429
// MailboxConcurrency. One limiter per process, keyed by account id (one account = one mailbox of this
// app), queues callers FIFO instead of rejecting them. A `$batch` weighs as many slots as Outlook
// runs at once for it (up to the limit).

interface Waiter {
  weight: number;
  resolve: () => void;
}

interface Lane {
  inUse: number;
  queue: Waiter[];
}

export class KeyedLimiter {
  private readonly lanes = new Map<string, Lane>();

  constructor(readonly maxConcurrent = 4) {}

  /** Runs `task` once `weight` slots of `key` are free; slots are released when it settles. */
  async run<T>(key: string, task: () => Promise<T>, weight = 1): Promise<T> {
    const release = await this.acquire(key, weight);
    try {
      return await task();
    } finally {
      release();
    }
  }

  async acquire(key: string, weight = 1): Promise<() => void> {
    const w = Math.max(1, Math.min(weight, this.maxConcurrent));
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { inUse: 0, queue: [] };
      this.lanes.set(key, lane);
    }
    const current = lane;
    // FIFO: a newcomer never overtakes a queued caller, even when it would fit.
    if (current.queue.length === 0 && current.inUse + w <= this.maxConcurrent) {
      current.inUse += w;
    } else {
      await new Promise<void>((resolve) => current.queue.push({ weight: w, resolve }));
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

  private drain(key: string, lane: Lane): void {
    while (lane.queue.length > 0) {
      const next = lane.queue[0]!;
      if (lane.inUse + next.weight > this.maxConcurrent) return;
      lane.queue.shift();
      lane.inUse += next.weight;
      next.resolve();
    }
    if (lane.inUse === 0) this.lanes.delete(key);
  }
}
