// Idempotency keys (docs/adr/0011-send-once-and-scheduled.md): a request carrying an `Idempotency-Key`
// runs once per API key within the key's lifetime. The first request inserts the key's row — the
// unique constraint decides, across processes — and runs; its answer is stored (encrypted) and
// replayed to every later request with the key. A request with the key and another body is refused
// (422); one arriving while the first runs waits for its answer, up to a bound, then gets 409. A
// running row holds a lease renewed while it runs: a process that dies leaves a lapsed lease, and the
// next request with the key takes the row over with the checkpoint the dead one saved (how far it got).
// A failed run stores no answer: its row is released, so a retry runs again from its checkpoint.
import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { IdempotencyRepository } from "../../storage/repositories/idempotency.repository.ts";

export interface IdempotentRequest {
  /** Whose keys these are: a hash of the API key. */
  scope: string;
  key: string;
  fingerprint: string;
}

export interface StoredAnswer {
  status: number;
  body: unknown;
}

/** What a run is given: the checkpoint an earlier, interrupted run saved, and a way to save its own. */
export interface IdempotentRun<C> {
  checkpoint: C | undefined;
  save(checkpoint: C): Promise<void>;
}

export interface IdempotencyOptions {
  /** How long a key is remembered (IDEMPOTENCY_KEY_HOURS). */
  ttlMs: number;
  /** How long a duplicate waits for the first request's answer before 409 (IDEMPOTENCY_WAIT_SECONDS). */
  waitMs: number;
  /** The running request's lease, renewed every third of it. */
  leaseMs?: number;
  pollMs?: number;
}

const DEFAULT_LEASE_MS = 10_000;

export class IdempotencyService {
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly deps: {
      repo: IdempotencyRepository;
      secrets: SecretBox;
      clock: Clock;
      options: IdempotencyOptions;
      sleep?: (ms: number) => Promise<void>;
    },
  ) {
    this.leaseMs = deps.options.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = deps.options.pollMs ?? 50;
  }

  /** Runs `run` once for the key, or answers as the first request with the key did. */
  async execute<C>(
    request: IdempotentRequest,
    run: (ctx: IdempotentRun<C>) => Promise<StoredAnswer>,
  ): Promise<StoredAnswer & { replayed: boolean }> {
    const { repo, clock } = this.deps;
    const owner = randomBytes(12).toString("base64url");
    const waitUntil = clock.now() + this.deps.options.waitMs;
    for (;;) {
      const now = clock.now();
      const row = {
        id: newId(),
        scope: request.scope,
        idempotency_key: request.key,
        fingerprint: request.fingerprint,
        status: "running",
        owner,
        locked_until: now + this.leaseMs,
        checkpoint: null,
        response_status: null,
        response_body: null,
        created_at: now,
        expires_at: now + this.deps.options.ttlMs,
      };
      if (await repo.claim(row))
        return { ...(await this.runOwned(row.id, owner, undefined, run)), replayed: false };
      const found = await repo.find(request.scope, request.key);
      if (!found) continue;
      if (found.expires_at <= now) {
        await repo.deleteExpired(found.id, now);
        continue;
      }
      if (found.fingerprint !== request.fingerprint)
        throw new AppError("unprocessable_entity", {
          detail: `Idempotency-Key '${request.key}' was first used with another request (method, path or body); use a new key for a new request.`,
        });
      if (found.status === "done" && found.response_body !== null)
        return {
          status: found.response_status ?? 200,
          body: JSON.parse(this.deps.secrets.decrypt(found.response_body)),
          replayed: true,
        };
      if (found.locked_until <= now) {
        if (await repo.takeOver(found, owner, now + this.leaseMs)) {
          const checkpoint = found.checkpoint === null ? undefined : (JSON.parse(found.checkpoint) as C);
          return { ...(await this.runOwned(found.id, owner, checkpoint, run)), replayed: false };
        }
        continue;
      }
      if (now >= waitUntil)
        throw new AppError("operation_canceled", {
          detail: `A request with Idempotency-Key '${request.key}' is still being processed; retry later to get its answer.`,
          retryAfterSeconds: 1,
        });
      await (this.deps.sleep ?? sleep)(this.pollMs);
    }
  }

  private async runOwned<C>(
    id: string,
    owner: string,
    checkpoint: C | undefined,
    run: (ctx: IdempotentRun<C>) => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> {
    const { repo, clock } = this.deps;
    const heartbeat = setInterval(() => {
      repo.extend(id, owner, clock.now() + this.leaseMs).catch(() => {});
    }, this.leaseMs / 3);
    heartbeat.unref();
    try {
      const answer = await run({
        checkpoint,
        save: (next) => repo.saveCheckpoint(id, owner, JSON.stringify(next)),
      });
      await repo.complete(id, owner, answer.status, this.deps.secrets.encrypt(JSON.stringify(answer.body)));
      return answer;
    } catch (error) {
      await repo.release(id, owner).catch(() => {});
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
