// The tracking routes' write path (docs/adr/0009-email-tracking.md): a hit is pushed to an in-memory
// buffer and the request is answered; the buffer is flushed in batches (every `flushEveryMs`, or at
// once when a batch is full), each batch stored with its webhook events in one transaction. What a
// crash can lose is what is in the buffer (at most about one flush interval of hits); once a batch is
// stored its webhooks are in the outbox. Hits beyond `eventsPerMinute` per tracking id, or beyond the
// buffer's size, are counted and dropped: the pixel and the redirect are answered all the same.
import type { Clock } from "../../lib/clock.ts";
import type { TrackedTarget } from "./token.ts";

export interface TrackingHit {
  target: TrackedTarget;
  ip: string | undefined;
  userAgent: string | undefined;
  at: number;
}

export interface RecorderOptions {
  flushEveryMs: number;
  batchSize: number;
  maxBuffered: number;
  /** Events kept per tracking id and minute (per process). */
  eventsPerMinute: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = {
  flushEveryMs: 1_000,
  batchSize: 500,
  maxBuffered: 50_000,
  eventsPerMinute: 60,
};

export type RecordOutcome = "queued" | "rate_limited" | "overflow";

export interface RecorderLogger {
  warn(obj: object, msg?: string): void;
}

export class TrackingRecorder {
  private buffer: TrackingHit[] = [];
  private readonly perId = new Map<string, number>();
  private windowStartedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  readonly dropped = { rateLimited: 0, overflow: 0, failed: 0 };

  constructor(
    private readonly store: (hits: TrackingHit[]) => Promise<void>,
    private readonly clock: Clock,
    private readonly log: RecorderLogger,
    private readonly options: RecorderOptions = DEFAULT_RECORDER_OPTIONS,
  ) {}

  get buffered(): number {
    return this.buffer.length;
  }

  record(hit: TrackingHit): RecordOutcome {
    const now = this.clock.now();
    if (now - this.windowStartedAt >= 60_000) {
      this.perId.clear();
      this.windowStartedAt = now;
    }
    const id = hit.target.trackingId;
    const seen = this.perId.get(id) ?? 0;
    if (seen >= this.options.eventsPerMinute) {
      this.dropped.rateLimited++;
      return "rate_limited";
    }
    if (this.buffer.length >= this.options.maxBuffered) {
      this.dropped.overflow++;
      return "overflow";
    }
    this.perId.set(id, seen + 1);
    this.buffer.push(hit);
    if (this.buffer.length >= this.options.batchSize) void this.flush();
    else if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.options.flushEveryMs);
      this.timer.unref();
    }
    return "queued";
  }

  /** Stores everything buffered so far, batch by batch; resolves when the buffer has been drained. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Flushes what is left; later hits are still buffered but no timer runs. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      try {
        await this.store(batch);
      } catch (error) {
        // Opens and clicks are best-effort: a batch the database refused is dropped, counted and logged.
        this.dropped.failed += batch.length;
        this.log.warn({ err: error, hits: batch.length }, "could not store tracking events");
        return;
      }
    }
  }
}
