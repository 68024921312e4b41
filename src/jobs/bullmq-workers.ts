// The worker side of the BullMQ runner: a BullMQ Worker per registered kind (so concurrency is per
// kind and per process), the runs in flight, the drain on stop, and the outcome counters.
import { Worker } from "bullmq";
import type { Redis } from "ioredis";
import { type BullRun, type BullRunDeps, backoffStrategy, runBullJob } from "./bullmq-run.ts";
import type { JobCounters } from "./embedded-runner-options.ts";
import { type JobOutcome, messageOf, OutcomeCounts } from "./job-outcome.ts";
import type { JobHandlerRegistry, JobLogger } from "./queue.ts";
import type { JobOutcomeEvent } from "./run-job.ts";

export interface BullWorkersOptions {
  registry: JobHandlerRegistry;
  prefix: string;
  log: JobLogger;
  /** Opens a new client per worker (BullMQ duplicates it for its blocking connection). */
  openClient(): Redis;
  onRedisError(error: Error): void;
  run: Omit<BullRunDeps, "track" | "count">;
  lockDurationMs: number;
  stalledIntervalMs: number;
  retention: { doneMs: number; deadMs: number };
  onOutcome: ((event: JobOutcomeEvent) => void) | undefined;
}

export class BullWorkers {
  private readonly workers: { worker: Worker; client: Redis }[] = [];
  private readonly active = new Map<string, BullRun>();
  private readonly activeByKind = new Map<string, number>();
  private readonly outcomeCounts = new OutcomeCounts();
  private readonly runDeps: BullRunDeps;

  constructor(private readonly options: BullWorkersOptions) {
    this.runDeps = {
      ...options.run,
      track: (run) => this.track(run),
      count: (kind, outcome, event) => this.count(kind, outcome, event),
    };
  }

  start(): void {
    const { retention } = this.options;
    for (const definition of this.options.registry.definitions()) {
      const client = this.options.openClient();
      const worker = new Worker(
        definition.kind,
        (job, token, signal) => runBullJob(this.runDeps, definition, job, token, signal),
        {
          connection: client,
          prefix: this.options.prefix,
          concurrency: definition.concurrency,
          lockDuration: this.options.lockDurationMs,
          stalledInterval: this.options.stalledIntervalMs,
          // A job whose worker vanished is re-queued; one that stalls its worker every time is dead.
          maxStalledCount: 3,
          settings: { backoffStrategy },
          removeOnComplete: { age: Math.ceil(retention.doneMs / 1000) },
          removeOnFail: { age: Math.ceil(retention.deadMs / 1000) },
        },
      );
      worker.on("error", (error) => this.options.onRedisError(error));
      worker.on("lockRenewalFailed", (ids) => this.abort(ids, "the job's BullMQ lock could not be renewed"));
      this.workers.push({ worker, client });
    }
  }

  /**
   * Takes no new jobs, waits for the running handlers up to `drainTimeoutMs`, aborts the signals of
   * those still running, and closes the workers. An aborted run's job is not released: its BullMQ lock
   * lapses and the stalled-job check hands it to another worker, as the embedded runner's lease does.
   */
  async stop(drainTimeoutMs: number): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.pause(true).catch(() => undefined)));
    const drained = await this.waitForActive(drainTimeoutMs);
    if (!drained) {
      const unfinished = [...this.active.values()].map(({ jobId, kind }) => ({ jobId, kind }));
      this.options.log.warn(
        { drainTimeoutMs, unfinished },
        "job runner stopped with jobs still running; their locks will lapse and another worker will take them",
      );
      this.abort([...this.active.keys()], `the job runner stopped (drain timeout ${drainTimeoutMs} ms)`);
    }
    await Promise.all(
      this.workers.map(async ({ worker, client }) => {
        await worker.close(!drained).catch(() => undefined);
        client.disconnect();
      }),
    );
  }

  /** Finished runs by kind and outcome, since the runner was created. */
  counters(): JobCounters {
    return this.outcomeCounts.snapshot();
  }

  /** Jobs running in this process now, by kind. */
  running(): Record<string, number> {
    return Object.fromEntries(this.activeByKind);
  }

  private track(run: BullRun): () => void {
    this.active.set(run.jobId, run);
    this.activeByKind.set(run.kind, (this.activeByKind.get(run.kind) ?? 0) + 1);
    return () => {
      this.active.delete(run.jobId);
      const left = (this.activeByKind.get(run.kind) ?? 1) - 1;
      if (left > 0) this.activeByKind.set(run.kind, left);
      else this.activeByKind.delete(run.kind);
    };
  }

  private abort(jobIds: string[], reason: string): void {
    for (const id of jobIds) this.active.get(id)?.controller.abort(new Error(reason));
  }

  private async waitForActive(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.active.size > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, deadline - Date.now())));
    }
    return true;
  }

  private count(kind: string, outcome: JobOutcome, event: Omit<JobOutcomeEvent, "kind" | "outcome">): void {
    this.outcomeCounts.add(kind, outcome);
    try {
      this.options.onOutcome?.({ kind, outcome, ...event });
    } catch (error) {
      this.options.log.warn({ kind, outcome, error: messageOf(error) }, "job outcome callback threw");
    }
  }
}
