// What a finished run leaves the job as. Pure: the runner records the decision under the job's fence.
import { backoffDelayMs } from "./backoff.ts";
import { type BackoffOptions, PermanentJobError, RetryLaterError, SnoozeError } from "./queue.ts";

/** What happened to one run, for metrics (`mailroom_jobs_total{kind,outcome}`). */
export type JobOutcome = "completed" | "retried" | "snoozed" | "dead";

export const JOB_OUTCOMES: readonly JobOutcome[] = ["completed", "retried", "snoozed", "dead"];

export interface FinishedRun {
  /** The handler resolved. */
  succeeded: boolean;
  /** What the handler threw, when it did not resolve. */
  failure?: unknown;
  /** This run's attempt number (1 for the first run). */
  attempt: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Jitter source, [0, 1). */
  random: () => number;
}

export type NextJobState =
  | { outcome: "completed"; status: "done" }
  | { outcome: "dead"; status: "dead"; permanent: boolean }
  | { outcome: "retried"; status: "queued"; delayMs: number }
  /** Queued again after `delayMs` with this run's attempt given back. */
  | { outcome: "snoozed"; status: "queued"; delayMs: number };

export function decideJobOutcome(run: FinishedRun): NextJobState {
  if (run.succeeded) return { outcome: "completed", status: "done" };
  // A snooze is waiting, not failing: it spends no attempt, so it is never the last one.
  if (run.failure instanceof SnoozeError)
    return { outcome: "snoozed", status: "queued", delayMs: run.failure.delayMs };
  const permanent = run.failure instanceof PermanentJobError;
  if (permanent || run.attempt >= run.maxAttempts) return { outcome: "dead", status: "dead", permanent };
  // Retry-After is the provider's word, so it replaces the computed backoff rather than adding to it.
  const delayMs =
    run.failure instanceof RetryLaterError
      ? run.failure.delayMs
      : backoffDelayMs(run.attempt, run.backoff, run.random);
  return { outcome: "retried", status: "queued", delayMs };
}

const MAX_ERROR_LENGTH = 2_000;

/** What `last_error` keeps: the error's name and message, never the payload. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : `Thrown: ${String(error)}`;
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Finished runs by kind and outcome, in one process (both runners' `counters()`). */
export class OutcomeCounts {
  private readonly byKind: Record<string, Record<JobOutcome, number>> = {};

  add(kind: string, outcome: JobOutcome): void {
    const perKind =
      this.byKind[kind] ??
      (Object.fromEntries(JOB_OUTCOMES.map((o) => [o, 0])) as Record<JobOutcome, number>);
    perKind[outcome] += 1;
    this.byKind[kind] = perKind;
  }

  snapshot(): Record<string, Record<JobOutcome, number>> {
    return structuredClone(this.byKind);
  }
}
