// Recurring jobs in the embedded runner: a job_schedules row per name, and each poll cycle enqueues
// the slots that have come. A slot is taken by compare-and-set on next_run_at, so of all the
// processes polling the same database one enqueues it; its job's idempotency key names the slot too.

import type { JobRepository } from "../storage/repositories/job.repository.ts";
import type { JobScheduleRepository } from "../storage/repositories/job-schedule.repository.ts";
import { messageOf } from "./job-outcome.ts";
import { queuedJob } from "./job-row.ts";
import {
  checkRecurring,
  JOB_DEFAULTS,
  type JobHandlerRegistry,
  type JobLogger,
  type RecurringJob,
  recurringSlot,
} from "./queue.ts";

/** Schedules taken per poll cycle; more wait for the next cycle. */
const SCHEDULES_PER_CYCLE = 100;

/**
 * Declares (or replaces) a recurring job. A new one's current slot is due at once (unless it asks for
 * `firstSlot: "next"`), so a job declared at start-up runs now rather than a period later; a changed
 * period starts at its next slot.
 */
export async function scheduleRecurring(
  schedules: JobScheduleRepository,
  recurring: RecurringJob,
  now: number,
): Promise<void> {
  checkRecurring(recurring);
  const { runAt, nextAt } = recurringSlot(recurring, now);
  await schedules.upsert(
    {
      name: recurring.name,
      kind: recurring.kind,
      payload: JSON.stringify(recurring.payload ?? null),
      every_ms: recurring.everyMs,
      offset_ms: recurring.offsetMs ?? 0,
      exclusive_key: recurring.exclusiveKey ?? null,
    },
    recurring.firstSlot === "next" ? nextAt : runAt,
    nextAt,
    now,
  );
}

export interface DueScheduleDeps {
  repository: JobRepository;
  registry: JobHandlerRegistry;
  log: JobLogger;
  newId(): string;
}

/**
 * Enqueues the current slot of every due schedule. A runner that was down for many slots enqueues
 * only the current one: the missed ones are past, and running them back to back helps nobody.
 * Returns the number of jobs created.
 */
export async function enqueueDueSchedules(d: DueScheduleDeps, now: number): Promise<number> {
  let created = 0;
  let due: Awaited<ReturnType<JobScheduleRepository["due"]>>;
  try {
    due = await d.repository.schedules.due(now, SCHEDULES_PER_CYCLE);
  } catch (error) {
    d.log.warn({ error: messageOf(error) }, "could not read due recurring jobs");
    return 0;
  }
  if (due.length === 0) return 0;
  // The cycle's slots commit together on SQLite (JobRepository.batch).
  try {
    await d.repository.batch(async (repository) => {
      for (const schedule of due) if (await takeSlot({ ...d, repository }, schedule, now)) created += 1;
    });
  } catch (error) {
    d.log.warn({ error: messageOf(error) }, "could not enqueue recurring jobs' slots");
    return 0;
  }
  return created;
}

/** Takes one due schedule's current slot; true when that enqueued a job. */
async function takeSlot(
  d: DueScheduleDeps,
  schedule: Awaited<ReturnType<JobScheduleRepository["due"]>>[number],
  now: number,
): Promise<boolean> {
  const { runAt, nextAt } = recurringSlot({ everyMs: schedule.every_ms, offsetMs: schedule.offset_ms }, now);
  try {
    const job = await d.repository.takeScheduleSlot(
      schedule,
      nextAt,
      queuedJob(
        {
          id: d.newId(),
          kind: schedule.kind,
          payload: schedule.payload,
          // The slot's due time names it: unique per schedule even across a change of period.
          idempotency_key: `schedule:${schedule.name}:${runAt}`,
          exclusive_key: schedule.exclusive_key,
          run_at: runAt,
          max_attempts: d.registry.get(schedule.kind)?.maxAttempts ?? JOB_DEFAULTS.maxAttempts,
        },
        now,
      ),
    );
    if (job?.skipped)
      d.log.debug(
        { name: schedule.name, jobId: job.id, runAt },
        "recurring job slot skipped: the previous slot's job has not started",
      );
    else if (job) d.log.debug({ name: schedule.name, jobId: job.id, runAt }, "recurring job slot enqueued");
    return job?.created === true;
  } catch (error) {
    d.log.warn({ name: schedule.name, error: messageOf(error) }, "could not enqueue a recurring job's slot");
    return false;
  }
}
