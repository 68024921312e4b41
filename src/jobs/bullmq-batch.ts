// The BullMQ runner's batched writes. A unit of work that enqueues many jobs writes their relay rows in
// one statement after one look at Redis for their idempotency keys, and a relay pass moves a batch of
// rows to BullMQ in two round trips (the keys' claims pipelined, then one `addBulk` per kind) rather
// than two per job. Semantics are `enqueue`'s and the single-row relay's (docs/adr/0007-bullmq-runner.md).
import type { Redis } from "ioredis";
import type { Clock } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import type { JobRelayRepository, JobRelayRow } from "../storage/repositories/job-relay.repository.ts";
import type { BullQueues } from "./bullmq-queues.ts";
import type { BullJobData } from "./bullmq-run.ts";
import type { BatchedJob, EnqueueResult } from "./queue.ts";
import { resolveRunAt } from "./queue.ts";
import { withTimeout } from "./redis-client.ts";
import { CLAIM_IDEMPOTENCY_KEY, checkKindName, jobIds, type RedisKeys } from "./redis-keys.ts";

export interface BullBatchDeps {
  client: Redis;
  keys: RedisKeys;
  queues: BullQueues;
  clock: Clock;
  /** How long an idempotency key's claim lives for a job delayed by `delayMs`. */
  claimTtlMs(delayMs: number): number;
}

export function jobData(payload: unknown, exclusiveKey?: string, maxAttempts?: number): BullJobData {
  return {
    payload: payload ?? null,
    ...(exclusiveKey !== undefined ? { exclusiveKey } : {}),
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  };
}

/**
 * Which of `keys` are claimed in Redis, in one MGET. While Redis is not ready (or slow) none is: the
 * relay then finds a taken key and drops its row, so a job still runs at most once.
 */
export async function idempotencyKeysInRedis(
  deps: BullBatchDeps,
  keys: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  if (keys.length === 0 || deps.client.status !== "ready") return found;
  try {
    const values = await withTimeout(
      deps.client.mget(...keys.map((key) => deps.keys.idempotency(key))),
      1_000,
      "MGET",
    );
    values.forEach((value, i) => {
      if (value !== null) found.add(keys[i]!);
    });
  } catch {
    // Treated as absent, as above.
  }
  return found;
}

/**
 * Writes the jobs' relay rows in the caller's transaction (`relay`), skipping keys already claimed in
 * Redis or held by another row. Results are in the jobs' order; `created` as for `enqueue`.
 */
export async function enqueueRelayRows(
  deps: BullBatchDeps,
  relay: JobRelayRepository,
  jobs: readonly BatchedJob[],
): Promise<EnqueueResult[]> {
  const now = deps.clock.now();
  const keys = jobs.flatMap((job) =>
    job.options?.idempotencyKey !== undefined ? [job.options.idempotencyKey] : [],
  );
  const inRedis = await idempotencyKeysInRedis(deps, keys);
  const rows: JobRelayRow[] = [];
  const planned = jobs.map((job) => {
    checkKindName(job.kind);
    const options = job.options ?? {};
    const key = options.idempotencyKey ?? null;
    const rowId = newId();
    const id = key !== null ? jobIds.fromIdempotencyKey(key) : jobIds.fromRelayRow(rowId);
    if (key !== null && inRedis.has(key)) return { id, rowId: undefined };
    rows.push({
      id: rowId,
      kind: job.kind,
      payload: JSON.stringify(job.payload ?? null),
      idempotency_key: key,
      exclusive_key: options.exclusiveKey ?? null,
      run_at: resolveRunAt(options, now),
      max_attempts: options.maxAttempts ?? null,
      created_at: now,
    });
    return { id, rowId };
  });
  const written = rows.length > 0 ? await relay.insertMany(rows) : new Set<string>();
  return planned.map(({ id, rowId }) => ({ id, created: rowId !== undefined && written.has(rowId) }));
}

/**
 * Adds committed relay rows to BullMQ. Each keyed row first claims its key for the row (a row whose
 * key another origin holds is dropped: that job exists); the claims go in one pipeline and the jobs in
 * one `addBulk` per kind. Rejects when Redis cannot take them; the rows then stay, and adding them
 * again is harmless (the claims are the row's own and the job ids are fixed).
 */
export async function addRelayRows(deps: BullBatchDeps, rows: readonly JobRelayRow[]): Promise<void> {
  const now = deps.clock.now();
  const jobs = rows.map((row) => {
    const key = row.idempotency_key ?? undefined;
    return {
      row,
      key,
      id: key !== undefined ? jobIds.fromIdempotencyKey(key) : jobIds.fromRelayRow(row.id),
      delay: Math.max(0, row.run_at - now),
    };
  });
  const keyed = jobs.filter((job) => job.key !== undefined);
  const refused = new Set<string>();
  if (keyed.length > 0) {
    const pipeline = deps.client.pipeline();
    for (const job of keyed)
      pipeline.eval(
        CLAIM_IDEMPOTENCY_KEY,
        1,
        deps.keys.idempotency(job.key!),
        job.row.id,
        deps.claimTtlMs(job.delay),
      );
    const replies = (await pipeline.exec()) ?? [];
    keyed.forEach((job, i) => {
      const [error, claimed] = replies[i] ?? [new Error("no reply to the idempotency claim"), 0];
      if (error) throw error;
      if (claimed !== 1) refused.add(job.row.id);
    });
  }
  const byKind = new Map<string, typeof jobs>();
  for (const job of jobs) {
    if (refused.has(job.row.id)) continue;
    const group = byKind.get(job.row.kind) ?? [];
    group.push(job);
    byKind.set(job.row.kind, group);
  }
  for (const [kind, group] of byKind) {
    const queue = await deps.queues.get(kind);
    await queue.addBulk(
      group.map((job) => ({
        name: kind,
        data: jobData(
          JSON.parse(job.row.payload),
          job.row.exclusive_key ?? undefined,
          job.row.max_attempts ?? undefined,
        ),
        opts: { ...deps.queues.jobOptions(), jobId: job.id, delay: job.delay },
      })),
    );
  }
}
