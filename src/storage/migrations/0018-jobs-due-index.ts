import type { Kysely } from "kysely";

// `jobs_due_idx (status, run_at)` has no reader left: claims walk `jobs_claim_idx (kind, status,
// run_at, id)`, counts by status and the purge walk `jobs_finished_idx (status, finished_at)`. Each
// job changes status three times (queued, running, done), and every change rewrote an entry of it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("jobs_due_idx").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex("jobs_due_idx").on("jobs").columns(["status", "run_at"]).execute();
}
