import { type Kysely, sql } from "kysely";

// Exclusive keys, snoozing and recurring jobs for the embedded runner (docs/adr/0002-jobs.md).
//
// - jobs.exclusive_key: at most one running job per key. The claim skips a job whose key is held and
//   takes the key in job_locks (primary key = the key, so two claimers cannot both take it); the lock
//   lives as long as the run's lease and is released with the outcome.
// - jobs.claims: bumped by every claim and never lowered, it replaces `attempts` as the fencing token
//   now that a snooze gives its attempt back (a snoozed run's attempts value comes round again).
// - job_schedules: one row per recurring job; next_run_at advances by compare-and-set, once per slot;
//   last_job_id lets a slot be skipped while the previous slot's job has not started.
// The claim keeps jobs_claim_idx (0011): its key check is a primary-key lookup in job_locks.
//
// realtime_accounts.sync_lock_owner / sync_lock_until are no longer used: realtime sync and poll jobs
// share the exclusive key `realtime.sync:<accountId>` instead. The columns stay, unread, so a rollback
// to an older version still finds them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("jobs").addColumn("exclusive_key", "varchar(300)").execute();
  await db.schema
    .alterTable("jobs")
    .addColumn("claims", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update jobs set claims = attempts`.execute(db);

  await db.schema
    .createTable("job_locks")
    .addColumn("key", "varchar(300)", (c) => c.primaryKey())
    .addColumn("job_id", "varchar(22)", (c) => c.notNull())
    .addColumn("locked_until", "bigint", (c) => c.notNull())
    .execute();
  // The heartbeat extends, and the outcome releases, the locks of given jobs.
  await db.schema.createIndex("job_locks_job_idx").on("job_locks").column("job_id").execute();

  await db.schema
    .createTable("job_schedules")
    .addColumn("name", "varchar(200)", (c) => c.primaryKey())
    .addColumn("kind", "varchar(100)", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("every_ms", "bigint", (c) => c.notNull())
    .addColumn("offset_ms", "bigint", (c) => c.notNull())
    .addColumn("exclusive_key", "varchar(300)")
    .addColumn("next_run_at", "bigint", (c) => c.notNull())
    .addColumn("last_job_id", "varchar(22)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  // Every poll cycle asks for the schedules that are due.
  await db.schema
    .createIndex("job_schedules_due_idx")
    .on("job_schedules")
    .columns(["next_run_at", "name"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("job_schedules").execute();
  await db.schema.dropTable("job_locks").execute();
  await db.schema.alterTable("jobs").dropColumn("claims").execute();
  await db.schema.alterTable("jobs").dropColumn("exclusive_key").execute();
}
