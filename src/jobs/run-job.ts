// One run of one claimed job: the handler, then its outcome recorded under the claim's fence, so a
// run whose lease was taken over cannot overwrite the newer run's result.
import type { Clock } from "../lib/clock.ts";
import type { JobFence, JobRepository, JobRow } from "../storage/repositories/job.repository.ts";
import { decideJobOutcome, describeError, type JobOutcome, messageOf } from "./job-outcome.ts";
import {
  type JobContext,
  type JobLogger,
  type JobTransaction,
  PermanentJobError,
  type ResolvedJobDefinition,
} from "./queue.ts";

export interface JobOutcomeEvent {
  kind: string;
  outcome: JobOutcome;
  jobId: string;
  attempt: number;
  durationMs: number;
}

export interface ActiveRun {
  row: JobRow;
  definition: ResolvedJobDefinition;
  controller: AbortController;
  done: Promise<void>;
}

export interface RunJobDeps {
  repository: JobRepository;
  clock: Clock;
  log: JobLogger;
  workerId: string;
  random: () => number;
  count(kind: string, outcome: JobOutcome, event: Omit<JobOutcomeEvent, "kind" | "outcome">): void;
}

export async function runJob(d: RunJobDeps, { row, definition, controller }: ActiveRun): Promise<void> {
  const fields = { jobId: row.id, kind: row.kind, attempt: row.attempts };
  const log = boundLogger(d.log, fields);
  const fence: JobFence = {
    id: row.id,
    workerId: d.workerId,
    claim: row.claims,
    keyed: row.exclusive_key !== null,
  };
  const startedAt = d.clock.now();
  log.debug({ maxAttempts: row.max_attempts }, "job started");

  let failure: unknown;
  let succeeded = false;
  let outcomeWrite: ((tx: JobTransaction) => Promise<void>) | undefined;
  try {
    const payload = parsePayload(row.payload);
    const ctx: JobContext = {
      attempt: row.attempts,
      jobId: row.id,
      signal: controller.signal,
      log,
      withOutcome: (write) => {
        outcomeWrite = write;
      },
    };
    await definition.handler(payload, ctx);
    succeeded = true;
  } catch (error) {
    failure = error;
  }

  const now = d.clock.now();
  const durationMs = Math.max(0, now - startedAt);
  const event = { jobId: row.id, attempt: row.attempts, durationMs };
  const next = decideJobOutcome({
    succeeded,
    failure,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
    backoff: definition.backoff,
    random: d.random,
  });
  // The handler's own outcome write (`withOutcome`) and the run's go in one commit (see `batch`).
  const record = async (repository: JobRepository): Promise<boolean> => {
    if (next.outcome === "completed") return repository.complete(fence, now);
    if (next.outcome === "dead") return repository.bury(fence, describeError(failure), now);
    if (next.outcome === "snoozed") return repository.snooze(fence, now + next.delayMs, now);
    return repository.reschedule(fence, now + next.delayMs, describeError(failure), now);
  };
  const write = outcomeWrite;
  const held = write
    ? await d.repository.batch(async (repository, db) => {
        await write(db);
        return record(repository);
      })
    : await record(d.repository);
  if (!held) return leaseLost(d, log);
  if (next.outcome === "completed") log.debug({ durationMs }, "job completed");
  else if (next.outcome === "dead")
    log.error(
      { error: messageOf(failure), maxAttempts: row.max_attempts, permanent: next.permanent },
      "job dead-lettered",
    );
  else if (next.outcome === "snoozed")
    log.debug({ reason: messageOf(failure), snoozeMs: next.delayMs }, "job snoozed");
  else log.warn({ error: messageOf(failure), retryInMs: next.delayMs }, "job failed; will retry");
  d.count(row.kind, next.outcome, event);
}

function leaseLost(d: RunJobDeps, log: JobLogger): void {
  log.warn(
    { workerId: d.workerId },
    "job outcome discarded: its lease expired and another run took the job over",
  );
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new PermanentJobError("The job payload is not valid JSON", { cause });
  }
}

/** A logger that adds the run's fields (job id, kind, attempt) to every line; both runners use it. */
export function boundLogger(log: JobLogger, fields: Record<string, unknown>): JobLogger {
  return {
    debug: (obj, msg) => log.debug({ ...fields, ...obj }, msg),
    info: (obj, msg) => log.info({ ...fields, ...obj }, msg),
    warn: (obj, msg) => log.warn({ ...fields, ...obj }, msg),
    error: (obj, msg) => log.error({ ...fields, ...obj }, msg),
  };
}
