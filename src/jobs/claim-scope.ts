// What each claim cycle of the embedded runner looks at: every kind (a whole cycle), or only the kinds
// wake-ups named since the last cycle. A wake-up after a job finished names its kind, plus the kinds
// that take exclusive keys when it held one (a waiter of another kind may now run), so a process
// running hundreds of jobs a second does not ask the database about every kind after each of them. A
// whole cycle (every kind, expired leases, due recurring slots) still runs at least once per poll
// interval, however busy the process. No I/O: the runner asks, and table tests check the answers.

export type CycleScope = { whole: true } | { whole: false; kinds: ReadonlySet<string> };

export class ClaimScope {
  private named: Set<string> | "all" = "all";
  private nextWholeAt = 0;
  /** Kinds seen with an exclusive key in this process (enqueued, declared or claimed). */
  private readonly keyed = new Set<string>();

  constructor(private readonly intervalMs: number) {}

  /** A kind whose jobs take exclusive keys. */
  keyedKind(kind: string): void {
    this.keyed.add(kind);
  }

  /** The next cycle looks at these kinds too; without `kinds`, at every kind. */
  wake(kinds?: Iterable<string>): void {
    if (kinds === undefined) this.named = "all";
    else if (this.named !== "all") for (const kind of kinds) this.named.add(kind);
  }

  /** A job finished: its kind may run another; if it held a key, so may the keyed kinds. */
  finished(job: { kind: string; exclusive_key: string | null }): void {
    if (job.exclusive_key !== null) this.keyed.add(job.kind);
    this.wake(job.exclusive_key === null ? [job.kind] : [job.kind, ...this.keyed]);
  }

  /** The scope of the cycle starting at `now`; the named kinds start over. */
  take(now: number): CycleScope {
    const named = this.named;
    this.named = new Set();
    if (named === "all" || now >= this.nextWholeAt) {
      this.nextWholeAt = now + this.intervalMs;
      return { whole: true };
    }
    return { whole: false, kinds: named };
  }
}
