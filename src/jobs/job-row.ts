// A new job's row in the embedded runner's `jobs` table: queued, never claimed.
import type { JobRow } from "../storage/repositories/job.repository.ts";

export function queuedJob(
  job: Pick<
    JobRow,
    "id" | "kind" | "payload" | "idempotency_key" | "exclusive_key" | "run_at" | "max_attempts"
  >,
  now: number,
): JobRow {
  return {
    ...job,
    claims: 0,
    status: "queued",
    attempts: 0,
    locked_by: null,
    locked_until: null,
    last_error: null,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
}
