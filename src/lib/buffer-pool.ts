// Buffers of one size, lent and taken back, so a transfer that passes many megabytes through the same
// few buffers leaves no garbage behind it. Up to `keep` buffers wait between uses; more are made when
// more are out at once, and are left to the garbage collector when given back.

export class BufferPool {
  private readonly idle: Buffer[] = [];

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes, its content whatever it held last. */
  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer nothing will read or write any more. */
  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.idle.length < this.keep && !this.idle.includes(buffer))
      this.idle.push(buffer);
  }

  /** Buffers waiting to be lent. */
  get idleCount(): number {
    return this.idle.length;
  }
}
