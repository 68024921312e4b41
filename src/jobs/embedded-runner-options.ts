// The embedded job runner's options (embedded-runner.ts).
import type { Clock } from "../lib/clock.ts";
import type { JobRepository } from "../storage/repositories/job.repository.ts";
import type { JobOutcome } from "./job-outcome.ts";
import type { JobHandlerRegistry, JobLogger } from "./queue.ts";
import type { JobOutcomeEvent } from "./run-job.ts";

export type JobCounters = Record<string, Record<JobOutcome, number>>;

export interface RunnerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface EmbeddedJobRunnerOptions {
  repository: JobRepository;
  registry: JobHandlerRegistry;
  log: JobLogger;
  /** Drives due times, backoff and leases. Default: the system clock. */
  clock?: Clock;
  /** How often the database is asked for due jobs. Enqueues in this process wake the loop at once. Default 250. */
  pollIntervalMs?: number;
  /** How long a claim holds a job without a heartbeat: the longest a crashed worker's job waits. Default 30 s. */
  leaseMs?: number;
  /** How often running jobs' leases are extended. Default leaseMs / 3. */
  heartbeatIntervalMs?: number;
  /** Default drain timeout of `stop()`. Default 30 s. */
  drainTimeoutMs?: number;
  /** Written to `locked_by`; unique per runner. Default: host, pid and a random suffix. */
  workerId?: string;
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number;
  /** Real timers by default; the poll, heartbeat and drain waits go through these. */
  timers?: RunnerTimers;
  /** Called once per finished run (not for a run whose lease was lost). Must not throw. */
  onOutcome?: (event: JobOutcomeEvent) => void;
}

export const defaultTimers: RunnerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
