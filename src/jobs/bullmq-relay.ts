// The relay (outbox) of the BullMQ runner. A job enqueued in a unit of work is a `job_relay` row
// written in the caller's transaction; this loop, in every process, moves committed rows to BullMQ
// and deletes them. Adding is idempotent (the BullMQ job id comes from the row id or the idempotency
// key), so a crash between the add and the delete re-adds harmlessly. While Redis is down the rows
// wait; nothing committed is lost.
import type { JobRelayRepository, JobRelayRow } from "../storage/repositories/job-relay.repository.ts";
import { messageOf } from "./job-outcome.ts";
import type { JobLogger } from "./queue.ts";

export interface JobRelayOptions {
  repository: JobRelayRepository;
  /**
   * Moves a batch of rows to BullMQ; rejects when Redis cannot take them (the rows stay, and adding
   * them again later is harmless).
   */
  addMany(rows: JobRelayRow[]): Promise<void>;
  /**
   * Whether Redis is connected. While it is not, passes are skipped rather than holding a SQL
   * transaction (and on SQLite the only connection) open while each add times out.
   */
  available(): boolean;
  log: JobLogger;
  /** How often the table is read. An enqueue in this process wakes the loop sooner. Default 200. */
  intervalMs?: number;
  /** Rows taken per transaction. Default 100. */
  batchSize?: number;
}

/**
 * After a wake-up's first pass, passes this long after the previous one: a commit slower than the
 * first pass (a busy database) is relayed within ~0.2 s instead of at the next interval.
 */
const WAKE_FOLLOW_UPS_MS = [30, 60, 120];

export class JobRelay {
  private readonly repository: JobRelayRepository;
  private readonly addMany: (rows: JobRelayRow[]) => Promise<void>;
  private readonly available: () => boolean;
  private readonly log: JobLogger;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (ms since the epoch). */
  private timerDueAt = 0;
  /** Passes still to run soon after a wake-up, for a commit that came later than the first. */
  private followUps: number[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private failing = false;

  constructor(options: JobRelayOptions) {
    this.repository = options.repository;
    this.addMany = options.addMany;
    this.available = options.available;
    this.log = options.log;
    this.intervalMs = options.intervalMs ?? 200;
    this.batchSize = options.batchSize ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the loop after the pass in flight. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  /**
   * Runs a pass soon instead of at the next interval (a transaction that enqueued is about to commit),
   * and a few more shortly after in case the commit is slower. A pass already due sooner is kept, so a
   * stream of enqueues cannot keep pushing the pass back.
   */
  wake(delayMs = 10): void {
    if (!this.running) return;
    this.followUps = [...WAKE_FOLLOW_UPS_MS];
    if (this.timer === undefined || this.timerDueAt > Date.now() + delayMs) this.schedule(delayMs);
  }

  /**
   * One pass, serialised with the loop: relays batches until the table is empty or a row cannot be
   * added. Resolves with the number of rows relayed. Tests call it to relay without the loop.
   */
  relayOnce(): Promise<number> {
    const pass = this.chain.then(() => this.drain());
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.relayOnce();
      if (this.failing) this.log.info({}, "job relay is moving jobs to Redis again");
      this.failing = false;
    } catch (error) {
      // Logged once per outage, not every interval.
      if (!this.failing)
        this.log.warn({ error: messageOf(error) }, "job relay cannot move jobs to Redis; the rows wait");
      this.failing = true;
    }
    if (this.running && this.timer === undefined) this.schedule(this.followUps.shift() ?? this.intervalMs);
  }

  private async drain(): Promise<number> {
    if (!this.available()) return 0;
    let total = 0;
    for (;;) {
      let failure: unknown;
      const relayed = await this.repository.relayBatch(this.batchSize, async (rows) => {
        try {
          await this.addMany(rows);
          return rows.map((row) => row.id);
        } catch (error) {
          failure = error;
          return [];
        }
      });
      total += relayed;
      if (failure !== undefined) throw failure;
      if (relayed < this.batchSize) return total;
    }
  }
}
