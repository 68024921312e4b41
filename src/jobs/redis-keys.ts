// The Redis keys the BullMQ runner writes besides BullMQ's own, and the job ids it gives BullMQ. Every
// key starts with the configured prefix, so deployments (and tests) sharing one Redis stay apart.
// BullMQ's keys are `<prefix>:<queue>:…` with a queue per kind; kinds contain no `_` at the start, so
// the `_`-led segments below cannot collide with a queue's keys.
import { createHash } from "node:crypto";

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export interface RedisKeys {
  /** Holds the job id an idempotency key was first given (global across kinds). */
  idempotency(key: string): string;
  /** The lock of an exclusive key, held by one run at a time. */
  exclusive(key: string): string;
  /** The jobs (`<kind>:<job id>`) that found the exclusive key held and wait for its release. */
  exclusiveWaiters(key: string): string;
  /** The set of kinds any process has enqueued or run, so `stats()` counts every queue. */
  kinds: string;
  /** Hash of recurring job name → kind, so `unschedule(name)` finds the queue holding the scheduler. */
  schedules: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    idempotency: (key) => `${prefix}:_idem:${sha256Hex(key)}`,
    exclusive: (key) => `${prefix}:_excl:${sha256Hex(key)}`,
    exclusiveWaiters: (key) => `${prefix}:_exclw:${sha256Hex(key)}`,
    kinds: `${prefix}:_kinds`,
    schedules: `${prefix}:_schedules`,
  };
}

/**
 * BullMQ job ids. Custom ids must not contain `:` nor be integers, so each has a letter prefix and a
 * hash or a base64url id. Ids derived from an idempotency key are the same in every process, which is
 * what makes a second `add` of the same key (a relay retried after a crash) a no-op.
 */
export const jobIds = {
  fromIdempotencyKey: (key: string) => `i-${sha256Hex(key)}`,
  fromRelayRow: (rowId: string) => `r-${rowId}`,
  fresh: (id: string) => `j-${id}`,
};

/** BullMQ queue names may not contain `:` (it separates key segments). */
export function checkKindName(kind: string): void {
  if (kind.length === 0 || kind.includes(":") || kind.startsWith("_"))
    throw new RangeError(`Job kind "${kind}" cannot be a BullMQ queue name (no ":" and no leading "_")`);
}

/** Deletes the key only if it still holds `value` (a lock or a claim that may have passed to another). */
export const COMPARE_AND_DELETE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/** Extends the key's expiry only if it still holds `value`; 0 when it was lost. */
export const COMPARE_AND_EXTEND = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Takes an exclusive key's lock (KEYS[1]) for ARGV[1] with lease ARGV[2] ms: 1. When another run
 * holds it, records the job ARGV[3] among the key's waiters (KEYS[2], expiring after ARGV[4] ms) in
 * the same step, so a release that follows cannot miss it: 0.
 */
export const ACQUIRE_EXCLUSIVE = `
if redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "NX") then return 1 end
redis.call("SADD", KEYS[2], ARGV[3])
redis.call("PEXPIRE", KEYS[2], ARGV[4])
return 0`;

/**
 * Releases the lock (KEYS[1]) if it still holds ARGV[1] and hands back (and clears) its waiters
 * (KEYS[2]), so the releasing run wakes them instead of letting them sleep out their retry delay.
 */
export const RELEASE_EXCLUSIVE = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return {} end
redis.call("DEL", KEYS[1])
local waiters = redis.call("SMEMBERS", KEYS[2])
redis.call("DEL", KEYS[2])
return waiters`;

/**
 * Claims an idempotency key for `origin` (a relay row id, or a random token for a direct enqueue):
 * 1 when newly claimed or already claimed by the same origin (a relay retried after a crash between
 * claim and add), 0 when another enqueue holds it.
 */
export const CLAIM_IDEMPOTENCY_KEY = `
local current = redis.call("GET", KEYS[1])
if current == false then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
if current == ARGV[1] then return 1 end
return 0`;
