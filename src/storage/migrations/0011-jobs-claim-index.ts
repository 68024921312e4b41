import type { Kysely } from "kysely";

// The claim query (JobRepository.claim) asks for one kind's due jobs in run_at order. With only
// `jobs_due_idx (status, run_at)` it read every queued and running job of every kind and sorted them;
// `(kind, status, run_at, id)` lets each of its two branches (queued and due; running with an expired
// lease) read only that kind's rows, already in claim order, and stop at the limit.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex("jobs_claim_idx")
    .on("jobs")
    .columns(["kind", "status", "run_at", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("jobs_claim_idx").execute();
}
