// Per-endpoint delivery slots in one process: a slow endpoint cannot take every delivery slot.

/**
 * Per-endpoint slots: at most `limit` holders per key; others wait first-come first-served, each for
 * at most its own timeout (false then) or until its signal aborts (rejects).
 */
export class EndpointSlots {
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, Array<(granted: boolean) => void>>();

  constructor(private readonly limit: number) {}

  acquire(key: string, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    const busy = this.held.get(key) ?? 0;
    if (busy < this.limit) {
      this.held.set(key, busy + 1);
      return Promise.resolve(true);
    }
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const queue = this.waiting.get(key) ?? [];
      this.waiting.set(key, queue);
      const settle = (granted: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(granted);
      };
      const leave = () => {
        const index = queue.indexOf(settle);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0 && this.waiting.get(key) === queue) this.waiting.delete(key);
      };
      const onAbort = () => {
        clearTimeout(timer);
        leave();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        leave();
        settle(false);
      }, waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(settle);
    });
  }

  /** Frees one slot of `key`, handing it straight to the longest waiter if there is one. */
  release(key: string): void {
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.waiting.delete(key);
    if (next) {
      next(true); // the slot passes on: `held` stays the same
      return;
    }
    const left = (this.held.get(key) ?? 1) - 1;
    if (left <= 0) this.held.delete(key);
    else this.held.set(key, left);
  }

  /** Slots held now for `key` (for tests). */
  inUse(key: string): number {
    return this.held.get(key) ?? 0;
  }
}
