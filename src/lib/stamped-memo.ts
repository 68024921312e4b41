// Values remembered with the stamp they were computed at: served again only while the stamp is the
// same (storage's `changeStamp`: nothing was committed since). Bounded; the oldest entry goes first.
export class StampedMemo<V> {
  private readonly entries = new Map<string, { stamp: string; value: V }>();

  constructor(private readonly maxEntries: number) {}

  /** The value remembered for `key` at `stamp`, if any. */
  get(key: string, stamp: string | undefined): V | undefined {
    if (stamp === undefined) return undefined;
    const entry = this.entries.get(key);
    return entry?.stamp === stamp ? entry.value : undefined;
  }

  /** Remembers `value` for `key`, computed from what was read at `stamp` (taken before the read). */
  set(key: string, stamp: string | undefined, value: V): void {
    if (stamp === undefined) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { stamp, value });
  }
}
