// The scaled-mode job queue: jobs live in Redis under BullMQ, one Queue and one Worker per kind, and run
// in every process that registers the kind. It keeps the embedded runner's semantics (queue.ts,
// docs/adr/0002-jobs.md); how each maps onto BullMQ is in docs/adr/0007-bullmq-runner.md.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { type Clock, systemClock } from "../lib/clock.ts";
import { newId } from "../lib/ids.ts";
import type { Storage } from "../storage/db.ts";
import { JobRelayRepository } from "../storage/repositories/job-relay.repository.ts";
import {
  addRelayRows,
  type BullBatchDeps,
  enqueueRelayRows,
  idempotencyKeysInRedis,
  jobData,
} from "./bullmq-batch.ts";
import { BullQueues } from "./bullmq-queues.ts";
import { JobRelay } from "./bullmq-relay.ts";
import type { BullJobData } from "./bullmq-run.ts";
import { BullWorkers } from "./bullmq-workers.ts";
import type { JobCounters } from "./embedded-runner-options.ts";
import {
  type BatchedJob,
  checkRecurring,
  type EnqueueOptions,
  type EnqueueResult,
  enqueueEach,
  type JobHandlerRegistry,
  type JobKind,
  type JobLogger,
  type JobPayloads,
  type JobQueue,
  type JobStats,
  type JobTransaction,
  type RecurringJob,
  recurringSlot,
  resolveRunAt,
  type StopOptions,
} from "./queue.ts";
import { type RedisConnection, RedisConnections } from "./redis-client.ts";
import { warnAboutRedisConfig } from "./redis-health.ts";
import {
  CLAIM_IDEMPOTENCY_KEY,
  COMPARE_AND_DELETE,
  checkKindName,
  jobIds,
  type RedisKeys,
  redisKeys,
} from "./redis-keys.ts";
import type { JobOutcomeEvent } from "./run-job.ts";

export { RedisUnavailableError } from "./redis-client.ts";

export interface BullmqJobRunnerOptions {
  /** A Redis URL, or a factory of new ioredis clients (worker clients need `maxRetriesPerRequest: null`). */
  connection: RedisConnection;
  /** Every Redis key goes under it (BullMQ's `prefix`); deployments sharing a Redis use different ones. */
  prefix: string;
  registry: JobHandlerRegistry;
  log: JobLogger;
  /** Turns `runAt` into BullMQ's delay and times runs. BullMQ itself runs on the system clock. */
  clock?: Clock;
  /** Default drain timeout of `stop()`. Default 30 s. */
  drainTimeoutMs?: number;
  /** Called once per finished run (completed, retried, dead). Must not throw. */
  onOutcome?: (event: JobOutcomeEvent) => void;
  /** The SQL database whose transactions `enqueue(…, {transaction})` writes relay rows in. */
  relay: { storage: Pick<Storage, "db" | "dialect">; intervalMs?: number };
  /** How long finished jobs (and so their idempotency keys) are kept. Default: done 24 h, dead 14 days. */
  retention?: { doneMs?: number; deadMs?: number };
  /** BullMQ's job lock: the longest a crashed worker's job waits before another takes it. Default 30 s. */
  lockDurationMs?: number;
  /** How often BullMQ looks for jobs whose lock lapsed. Default: `lockDurationMs`. */
  stalledIntervalMs?: number;
  /** Lease of an exclusive key's lock, renewed every third of it while the handler runs. Default 15 s. */
  exclusiveLeaseMs?: number;
  /** How long a job whose exclusive key is held waits before trying again. Default 500 ms. */
  exclusiveRetryMs?: number;
  /** How long an enqueue waits for Redis before rejecting. Default 2 s. */
  connectTimeoutMs?: number;
  /** Jitter source, [0, 1). Default Math.random. */
  random?: () => number;
}

const HOUR_MS = 3_600_000;
/** An idempotency key outlives its job by this much, so it holds for the whole retention. */
const IDEMPOTENCY_MARGIN_MS = 24 * HOUR_MS;

export class BullmqJobRunner implements JobQueue {
  readonly prefix: string;
  private readonly registry: JobHandlerRegistry;
  private readonly log: JobLogger;
  private readonly clock: Clock;
  private readonly dialect: "sqlite" | "postgres";
  private readonly doneMs: number;
  private readonly deadMs: number;
  private readonly keys: RedisKeys;
  private readonly redis: RedisConnections;
  private readonly client: Redis;
  private readonly queues: BullQueues;
  private readonly relay: JobRelay;
  private readonly batch: BullBatchDeps;
  private readonly relayRepository: JobRelayRepository;
  private readonly workers: BullWorkers;
  private readonly drainTimeoutMs: number;
  private state: "idle" | "started" | "stopping" | "stopped" = "idle";
  private relayStarted = false;

  constructor(options: BullmqJobRunnerOptions) {
    if (!options.prefix || options.prefix.includes(" "))
      throw new RangeError("prefix must be a non-empty word");
    this.prefix = options.prefix;
    this.registry = options.registry;
    this.log = options.log;
    this.clock = options.clock ?? systemClock;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.dialect = options.relay.storage.dialect;
    this.doneMs = options.retention?.doneMs ?? 24 * HOUR_MS;
    this.deadMs = options.retention?.deadMs ?? 14 * 24 * HOUR_MS;
    this.keys = redisKeys(this.prefix);
    for (const definition of this.registry.definitions()) checkKindName(definition.kind);
    this.redis = new RedisConnections(options.connection, this.log, options.connectTimeoutMs ?? 2_000);
    this.client = this.redis.client;
    this.queues = new BullQueues(
      this.client,
      this.prefix,
      this.keys,
      { doneMs: this.doneMs, deadMs: this.deadMs },
      (error) => this.redis.onError(error),
    );
    this.batch = {
      client: this.client,
      keys: this.keys,
      queues: this.queues,
      clock: this.clock,
      claimTtlMs: (delayMs) => delayMs + Math.max(this.doneMs, this.deadMs) + IDEMPOTENCY_MARGIN_MS,
    };
    this.relayRepository = new JobRelayRepository(options.relay.storage.db, this.dialect);
    this.relay = new JobRelay({
      repository: this.relayRepository,
      addMany: async (rows) => {
        await this.redis.connected("the relay rows wait");
        await addRelayRows(this.batch, rows);
        this.log.debug({ jobs: rows.length }, "jobs relayed to Redis");
      },
      available: () => this.client.status === "ready",
      log: this.log,
      ...(options.relay.intervalMs !== undefined ? { intervalMs: options.relay.intervalMs } : {}),
    });
    const lockDurationMs = options.lockDurationMs ?? 30_000;
    this.workers = new BullWorkers({
      registry: this.registry,
      prefix: this.prefix,
      log: this.log,
      openClient: () => this.redis.open("worker"),
      onRedisError: (error: Error) => this.redis.onError(error),
      run: {
        client: this.client,
        keys: this.keys,
        clock: this.clock,
        log: this.log,
        random: options.random ?? Math.random,
        exclusiveLeaseMs: options.exclusiveLeaseMs ?? 15_000,
        exclusiveRetryMs: options.exclusiveRetryMs ?? 500,
        promote: (kind, jobId) => this.promote(kind, jobId),
      },
      lockDurationMs,
      stalledIntervalMs: options.stalledIntervalMs ?? lockDurationMs,
      retention: { doneMs: this.doneMs, deadMs: this.deadMs },
      onOutcome: options.onOutcome,
    });
  }

  async enqueue<K extends JobKind>(
    kind: K,
    payload: JobPayloads[K],
    options: EnqueueOptions = {},
  ): Promise<EnqueueResult> {
    const runAt = resolveRunAt(options, this.clock.now());
    checkKindName(kind);
    if (this.state === "stopping" || this.state === "stopped")
      throw new Error("The job runner is stopped; enqueue on a running one");
    if (options.transaction)
      return this.enqueueInTransaction(kind, payload, options, options.transaction, runAt);
    await this.redis.connected("the job was not enqueued");
    const key = options.idempotencyKey;
    const id = key !== undefined ? jobIds.fromIdempotencyKey(key) : jobIds.fresh(newId());
    const data = jobData(payload, options.exclusiveKey, options.maxAttempts);
    let created: boolean;
    try {
      created = await this.addJob(kind, id, data, runAt, key, randomUUID(), true);
    } catch (error) {
      throw this.redis.unavailable("the job was not enqueued", error);
    }
    this.log.debug({ jobId: id, kind, created, runAt }, "job enqueued");
    return { id, created };
  }

  async enqueueMany(
    jobs: readonly BatchedJob[],
    options: { transaction?: JobTransaction } = {},
  ): Promise<EnqueueResult[]> {
    const { transaction } = options;
    if (!transaction) return enqueueEach(this, jobs);
    if (this.state === "stopping" || this.state === "stopped")
      throw new Error("The job runner is stopped; enqueue on a running one");
    const results = await enqueueRelayRows(
      this.batch,
      new JobRelayRepository(transaction, this.dialect),
      jobs,
    );
    if (results.some((result) => result.created)) {
      this.startRelay();
      this.relay.wake();
    }
    this.log.debug({ jobs: jobs.length }, "jobs written for relay; they reach Redis after the commit");
    return results;
  }

  /**
   * Writes a relay row in the caller's transaction; the relay moves it to Redis after the commit.
   * `created` is false when the key is in the relay table (this transaction's rows included) or in
   * Redis. While Redis is unreachable only the table is checked: the relay then finds the key taken
   * and drops the row, so the job still runs at most once; only `created` read true.
   */
  private async enqueueInTransaction(
    kind: string,
    payload: unknown,
    options: EnqueueOptions,
    transaction: JobTransaction,
    runAt: number,
  ): Promise<EnqueueResult> {
    const key = options.idempotencyKey ?? null;
    const rowId = newId();
    const id = key !== null ? jobIds.fromIdempotencyKey(key) : jobIds.fromRelayRow(rowId);
    if (key !== null && (await idempotencyKeysInRedis(this.batch, [key])).has(key))
      return { id, created: false };
    const inserted = await new JobRelayRepository(transaction, this.dialect).insert({
      id: rowId,
      kind,
      payload: JSON.stringify(payload ?? null),
      idempotency_key: key,
      exclusive_key: options.exclusiveKey ?? null,
      run_at: runAt,
      max_attempts: options.maxAttempts ?? null,
      created_at: this.clock.now(),
    });
    if (!inserted) return { id, created: false };
    this.startRelay();
    this.relay.wake();
    this.log.debug({ jobId: id, kind, runAt }, "job written for relay; it reaches Redis after the commit");
    return { id, created: true };
  }

  /** Claims the idempotency key (if any) for `origin`, then adds the job; false when the key was taken. */
  private async addJob(
    kind: string,
    id: string,
    data: BullJobData,
    runAt: number,
    key: string | undefined,
    origin: string,
    releaseOnFailure: boolean,
  ): Promise<boolean> {
    const delay = Math.max(0, runAt - this.clock.now());
    const idemKey = key !== undefined ? this.keys.idempotency(key) : undefined;
    if (idemKey !== undefined) {
      const ttlMs = this.batch.claimTtlMs(delay);
      const claimed = await this.client.eval(CLAIM_IDEMPOTENCY_KEY, 1, idemKey, origin, ttlMs);
      if (claimed !== 1) return false;
    }
    try {
      const queue = await this.queues.get(kind);
      await queue.add(kind, data, { ...this.queues.jobOptions(), jobId: id, delay });
      return true;
    } catch (error) {
      if (releaseOnFailure && idemKey !== undefined)
        await this.client.eval(COMPARE_AND_DELETE, 1, idemKey, origin).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Declares a BullMQ job scheduler in the kind's queue (`BullQueues.upsertScheduler`): slots fall at
   * `n · everyMs + offsetMs` as in the embedded runner, and BullMQ
   * names each slot's job `repeat:<name>:<slot ms>`, once across processes. A new recurring job's
   * current slot runs at once unless `firstSlot` is "next" (as in the embedded runner): the process
   * whose HSET added the name enqueues it, under the idempotency key `schedule:<name>:<slot ms>`.
   */
  async schedule<K extends JobKind>(recurring: RecurringJob<K>): Promise<void> {
    checkRecurring(recurring);
    checkKindName(recurring.kind);
    await this.redis.connected("the recurring job was not declared");
    const { name, kind, everyMs, offsetMs = 0 } = recurring;
    const previousKind = await this.client.hget(this.keys.schedules, name);
    if (previousKind !== null && previousKind !== kind)
      await (await this.queues.get(previousKind)).removeJobScheduler(name);
    const isNew = (await this.client.hset(this.keys.schedules, name, kind)) === 1;
    const data = jobData(recurring.payload, recurring.exclusiveKey);
    const { runAt, nextAt } = recurringSlot(recurring, Date.now());
    // The slot under way is queued before the scheduler exists: declared just before a slot's end,
    // the scheduler's first slot could otherwise be due, and run, before it.
    if (isNew && recurring.firstSlot !== "next") {
      const key = `schedule:${name}:${runAt}`;
      const id = jobIds.fromIdempotencyKey(key);
      await this.addJob(kind, id, data, this.clock.now(), key, randomUUID(), true);
    }
    // Its first slot is taken again then (queueing the current one took time).
    const firstAt = await this.queues.upsertScheduler(recurring, data, nextAt);
    this.log.debug({ name, kind, everyMs, offsetMs, nextAt: firstAt, isNew }, "recurring job declared");
  }

  async unschedule(name: string): Promise<void> {
    await this.redis.connected("the recurring job was not removed");
    const kind = await this.client.hget(this.keys.schedules, name);
    if (kind === null) return;
    await (await this.queues.get(kind)).removeJobScheduler(name);
    await this.client.hdel(this.keys.schedules, name);
  }

  async start(): Promise<void> {
    if (this.state === "started") return;
    if (this.state !== "idle")
      throw new Error("A stopped job runner cannot be started again; create a new one");
    this.state = "started";
    this.workers.start();
    for (const definition of this.registry.definitions())
      void this.queues.get(definition.kind).catch(() => undefined);
    this.startRelay();
    void warnAboutRedisConfig(this.client, this.log, this.redis.location);
    this.log.info(
      {
        prefix: this.prefix,
        redis: this.redis.location,
        kinds: this.registry.definitions().map((d) => d.kind),
      },
      "job runner started (BullMQ)",
    );
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    const wasStarted = this.state === "started";
    this.state = "stopping";
    await this.relay.stop();
    await this.workers.stop(options.drainTimeoutMs ?? this.drainTimeoutMs);
    await this.queues.close();
    this.redis.close();
    this.state = "stopped";
    if (wasStarted) this.log.info({ prefix: this.prefix }, "job runner stopped");
  }

  /** Jobs by status across every kind used under this prefix; relay rows not yet in Redis are not counted. */
  async stats(): Promise<JobStats> {
    await this.redis.connected("stats are unavailable");
    return this.queues.stats();
  }

  /** Whether Redis answers a PING within a second: for `/ready`. Never throws. */
  async ready(): Promise<boolean> {
    return this.redis.ping();
  }

  /** Relay rows written by committed transactions and not yet in Redis (a backlog means Redis is down). */
  relayBacklog(): Promise<number> {
    return this.relayRepository.count();
  }

  /** Moves committed relay rows to Redis now; resolves with how many. For tests and shutdown hooks. */
  relayNow(): Promise<number> {
    return this.relay.relayOnce();
  }

  /** Finished runs by kind and outcome, since this runner was created. */
  counters(): JobCounters {
    return this.workers.counters();
  }

  /** Jobs this runner is running now, by kind. */
  running(): Record<string, number> {
    return this.workers.running();
  }

  private startRelay(): void {
    if (this.relayStarted || this.state === "stopping" || this.state === "stopped") return;
    this.relayStarted = true;
    this.relay.start();
  }

  /** Runs a delayed job now; nothing when it is no longer delayed (running, done or gone). */
  private async promote(kind: string, jobId: string): Promise<void> {
    const job = await (await this.queues.get(kind)).getJob(jobId);
    // BullMQ refuses to promote a job that is not delayed: it is running, done or already waiting.
    await job?.promote().catch(() => undefined);
  }
}
