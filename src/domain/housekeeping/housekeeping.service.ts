// Housekeeping: removes what is past its retention (retention.ts), one small batch per statement,
// yielding between batches so request handlers and jobs interleave with it and no statement holds a
// lock for long. Runs as a recurring job (housekeeping.job.ts); tests call `run` with a test clock.
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../lib/clock.ts";
import type { HousekeepingRepository } from "../../storage/repositories/housekeeping.repository.ts";
import type { JobRepository } from "../../storage/repositories/job.repository.ts";
import { type HousekeepingStepName, type RetentionPolicy, retentionCutoffs } from "./retention.ts";

/** Rows per DELETE: a few milliseconds of write lock on SQLite, a few hundred row locks on PostgreSQL. */
export const HOUSEKEEPING_BATCH = 500;

export interface HousekeepingLogger {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface HousekeepingReport {
  startedAt: number;
  finishedAt: number;
  /** Rows deleted per step; every step appears, with 0 when it had nothing to do. */
  deleted: Record<HousekeepingStepName, number>;
  /** False when the run was aborted before every step finished. */
  complete: boolean;
}

export interface HousekeepingDeps {
  repo: Pick<HousekeepingRepository, keyof HousekeepingRepository>;
  jobs: Pick<JobRepository, "purgeFinished">;
  retention: RetentionPolicy;
  clock: Clock;
  log: HousekeepingLogger;
  batchSize?: number;
  /** When a pass starts. */
  onStart?(): void;
  /** After each batch: the step, the rows this batch deleted, and the step's total so far this pass. */
  onBatch?(step: HousekeepingStepName, deleted: number, soFar: number): void;
  onRun?(report: HousekeepingReport): void;
}

type Step = [HousekeepingStepName, (limit: number) => Promise<number>];

export class HousekeepingService {
  private readonly batchSize: number;
  private running: Promise<HousekeepingReport> | undefined;

  constructor(private readonly d: HousekeepingDeps) {
    this.batchSize = d.batchSize ?? HOUSEKEEPING_BATCH;
  }

  /** One pass over every step until nothing past retention is left, or `signal` aborts. */
  run(signal?: AbortSignal): Promise<HousekeepingReport> {
    // Two triggers in one process (the job, a test, an operator) share one pass.
    this.running ??= this.pass(signal).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(signal?: AbortSignal): Promise<HousekeepingReport> {
    const startedAt = this.d.clock.now();
    this.d.onStart?.();
    const c = retentionCutoffs(this.d.retention, startedAt);
    const { repo } = this.d;
    const steps: Step[] = [
      ["jobs", (limit) => this.d.jobs.purgeFinished({ ...c.jobs, limit })],
      ["webhook_deliveries", (limit) => repo.deleteFinalWebhookDeliveries(c.webhookDeliveries, limit)],
      ["webhook_events", (limit) => repo.deleteWebhookEvents(c.webhookEvents, limit)],
      ["account_events", (limit) => repo.deleteAccountEvents(c.accountEvents, limit)],
      ["notify_deliveries", (limit) => repo.deleteFinalNotifyDeliveries(c.notifyDeliveries, limit)],
      ["hosted_links", (limit) => repo.deleteExpiredHostedLinks(c.hostedLinks, limit)],
      ["auth_attempts", (limit) => repo.deleteExpiredAuthAttempts(c.authAttempts, limit)],
      ["admin_sessions", (limit) => repo.deleteExpiredSessions(c.adminSessions, limit)],
      ["admin_invites", (limit) => repo.deleteOldInvites(c.adminInvites, limit)],
      ["sent_messages", (limit) => repo.deleteSentMessages(c.sentMessages, limit)],
      ["idempotency_keys", (limit) => repo.deleteExpiredIdempotencyKeys(c.idempotencyKeys, limit)],
      ["realtime_window", (limit) => repo.deleteRealtimeOutsideWindow(c.realtimeWindow, limit)],
      ["realtime_gone", (limit) => repo.deleteRealtimeGone(c.realtimeGone, limit)],
      ["tracking_events", (limit) => repo.deleteTrackingEvents(c.trackingEvents, limit)],
      ["tracked_emails", (limit) => repo.deleteTrackedEmails(c.trackedEmails, limit)],
    ];
    const deleted = Object.fromEntries(steps.map(([name]) => [name, 0])) as Record<
      HousekeepingStepName,
      number
    >;
    let complete = true;
    outer: for (const [name, step] of steps) {
      for (;;) {
        if (signal?.aborted) {
          complete = false;
          break outer;
        }
        const rows = await step(this.batchSize);
        deleted[name] += rows;
        if (rows > 0) this.d.onBatch?.(name, rows, deleted[name]);
        if (rows < this.batchSize) break;
        await yieldToEventLoop();
      }
      if (deleted[name] > 0)
        this.d.log.debug({ step: name, deleted: deleted[name] }, "Housekeeping step done");
    }
    const report = { startedAt, finishedAt: this.d.clock.now(), deleted, complete };
    const total = Object.values(deleted).reduce((a, b) => a + b, 0);
    // A pass that found nothing is routine: logged at debug, so an idle deployment's log stays quiet.
    const level = total > 0 || !complete ? "info" : "debug";
    this.d.log[level](
      { deleted, total, complete, durationMs: report.finishedAt - startedAt },
      complete ? "Housekeeping done" : "Housekeeping stopped before the end",
    );
    this.d.onRun?.(report);
    return report;
  }
}
