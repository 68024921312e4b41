// One job per delivery: POST the event to one webhook, signed, and record the outcome. The delivery row,
// not the job, counts HTTP attempts and decides when to give up, so `X-Mailroom-Attempt` stays right
// across crashes; waiting for a busy endpoint snoozes the job and costs no attempt at all.

import { type JobDefinition, RetryLaterError, SnoozeError } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { DecryptedEnvelopes, type SecretBox } from "../../lib/crypto.ts";
import { type OutboundTransport, OutboundTransportError } from "../../outbound/http-transport.ts";
import { type AttemptResult, afterAttempt, DEFAULT_RETRY_DELAYS_MS } from "../../outbound/retry.ts";
import { SIGNATURE_HEADER, signatureHeader } from "../../outbound/signing.ts";
import type { DeliveryOutcome, WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import { type DataItem, encodeBody, shapePayload } from "./payload.ts";
import { DELIVER_JOB, isTestEventId, parseList } from "./webhook-model.ts";

export const EVENT_ID_HEADER = "X-Mailroom-Event-Id";
export const ATTEMPT_HEADER = "X-Mailroom-Attempt";
export const EVENT_TYPE_HEADER = "X-Mailroom-Event";
/** Set on synthetic events sent with "Send test event" (test-events.ts). */
export const TEST_HEADER = "X-Mailroom-Test";

export { DEFAULT_RETRY_DELAYS_MS };

export interface DeliveryOptions {
  /** HTTP attempts before a delivery is marked failed. Default 8. */
  maxAttempts: number;
  /** Wait after the n-th failed attempt (the last value repeats). */
  retryDelaysMs: readonly number[];
  /** Per request, until the response headers. Default 30 s (Unipile's documented limit). */
  timeoutMs: number;
  /** Deliveries to one webhook at once in one process, so a slow endpoint cannot take every slot. */
  perEndpointConcurrency: number;
  /** Deliveries at once in one process. */
  concurrency: number;
  /** How long a delivery waits in-process for a free slot of its endpoint before it is re-queued. */
  endpointWaitMs: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  maxAttempts: 8,
  retryDelaysMs: DEFAULT_RETRY_DELAYS_MS,
  timeoutMs: 30_000,
  perEndpointConcurrency: 4,
  concurrency: 32,
  endpointWaitMs: 1_000,
};

export interface DeliveryJobDeps {
  repo: WebhookRepository;
  secrets: Pick<SecretBox, "decrypt">;
  transport: OutboundTransport;
  clock: Clock;
  options?: Partial<DeliveryOptions>;
  random?: () => number;
}

const MAX_ERROR_LENGTH = 500;
/**
 * Job runs beyond the delivery's HTTP attempts: each run makes at most one attempt, so this margin is
 * only for runs that ended before recording theirs (a crash, a database error).
 */
const RUNS_WITHOUT_ATTEMPT = 5;
/** Characters of the receiver's answer kept on the delivery row (the dashboard shows them). */
export const MAX_EXCERPT_LENGTH = 500;

export function deliveryJob(deps: DeliveryJobDeps): JobDefinition<"webhooks.deliver"> {
  const options = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.options };
  const random = deps.random ?? Math.random;
  const slots = new EndpointSlots(options.perEndpointConcurrency);
  // Decrypted once per ciphertext (a rotation stores a new one).
  const secrets = new DecryptedEnvelopes(deps.secrets, 256);
  return {
    kind: DELIVER_JOB,
    concurrency: options.concurrency,
    // Each run makes at most one HTTP attempt, which the delivery row counts and bounds.
    maxAttempts: options.maxAttempts + RUNS_WITHOUT_ATTEMPT,
    backoff: { baseMs: 1_000, maxMs: 60_000 },
    async handler({ deliveryId, round, webhookId }, ctx) {
      // The endpoint is named in the job; a job enqueued before it was is read for it.
      let endpoint = webhookId;
      if (endpoint === undefined) {
        const found = await deps.repo.deliveryToSend(deliveryId);
        if (!found?.webhook || found.delivery.round !== round || found.delivery.status !== "pending") return;
        endpoint = found.webhook.id;
      }
      // Wait (briefly, in line) for one of the endpoint's slots rather than going back to the queue:
      // a bounce costs two writes and up to a second. A slot that does not free up within
      // `endpointWaitMs` (a slow endpoint) snoozes the job, so a slow endpoint's waiters hold runner
      // slots for at most that long, and waiting, however long, never spends an attempt.
      if (!(await slots.acquire(endpoint, options.endpointWaitMs, ctx.signal)))
        throw new SnoozeError(
          250 + Math.floor(random() * 750),
          "the endpoint has enough deliveries in flight",
        );
      try {
        const now = deps.clock.now();
        // The attempt is counted and the delivery, its webhook and its event read in one statement
        // (PostgreSQL); nothing when the round is over (delivered, restarted, gone).
        const started = await deps.repo.startAttemptToSend(deliveryId, round, now);
        if (!started?.webhook) return;
        const { delivery, webhook, event } = started;
        if (!event) {
          await deps.repo.recordOutcome(delivery.id, round, {
            status: "failed",
            last_status_code: null,
            last_error: "The event is no longer stored",
            last_response_excerpt: null,
            next_attempt_at: null,
            delivered_at: null,
            updated_at: now,
          });
          return;
        }
        const attempt = delivery.attempts;

        const shaped = shapePayload(
          { ...event, payload: JSON.parse(event.payload) as Record<string, unknown> },
          { name: webhook.name, data: parseList<DataItem>(webhook.data) },
        );
        const { body, contentType } = encodeBody(shaped, webhook.format);
        const previous =
          webhook.previous_secret &&
          webhook.previous_secret_expires_at !== null &&
          webhook.previous_secret_expires_at > now
            ? secrets.decrypt(webhook.previous_secret)
            : undefined;
        const headers: Record<string, string> = {
          "content-type": contentType,
          "user-agent": "Mailroom-Webhooks",
        };
        // The operator's headers (Unipile's `headers`) may replace the content type, never Mailroom's own.
        for (const { key, value } of parseList<{ key: string; value: string }>(webhook.headers))
          headers[key.toLowerCase()] = value;
        headers[EVENT_ID_HEADER] = event.id;
        headers[EVENT_TYPE_HEADER] = event.type;
        headers[ATTEMPT_HEADER] = String(attempt);
        if (isTestEventId(event.id)) headers[TEST_HEADER] = "true";
        headers[SIGNATURE_HEADER] = signatureHeader(
          body,
          Math.floor(now / 1000),
          secrets.decrypt(webhook.secret),
          previous,
        );

        let status: number | null = null;
        let excerpt: string | null = null;
        let result: AttemptResult;
        try {
          const response = await deps.transport.post({
            url: webhook.request_url,
            headers,
            body,
            timeoutMs: options.timeoutMs,
            signal: ctx.signal,
          });
          status = response.status;
          excerpt = response.bodyExcerpt?.slice(0, MAX_EXCERPT_LENGTH) ?? null;
          result = { status };
        } catch (failure) {
          result = {
            error: failure instanceof Error ? failure.message : String(failure),
            retryable: failure instanceof OutboundTransportError ? failure.retryable : true,
          };
        }
        const outcome = afterAttempt(result, attempt, options, random);
        // The outcome commits with the job's own (one SQLite commit) where the runner offers it.
        const record = async (row: DeliveryOutcome) => {
          if (ctx.withOutcome)
            ctx.withOutcome((tx) => deps.repo.inTransaction(tx).recordOutcome(delivery.id, round, row));
          else await deps.repo.recordOutcome(delivery.id, round, row);
        };
        if (outcome.kind === "delivered") {
          await record({
            status: "delivered",
            last_status_code: status,
            last_error: null,
            last_response_excerpt: excerpt,
            next_attempt_at: null,
            delivered_at: deps.clock.now(),
            updated_at: deps.clock.now(),
          });
          ctx.log.info({ webhookId: webhook.id, eventId: event.id, attempt }, "webhook delivered");
          return;
        }
        const giveUp = outcome.kind === "failed";
        const delayMs = outcome.kind === "retry" ? outcome.delayMs : 0;
        const error = outcome.error;
        await record({
          status: giveUp ? "failed" : "pending",
          last_status_code: status,
          last_error: error.slice(0, MAX_ERROR_LENGTH),
          last_response_excerpt: excerpt,
          next_attempt_at: giveUp ? null : deps.clock.now() + delayMs,
          delivered_at: null,
          updated_at: deps.clock.now(),
        });
        if (giveUp) {
          ctx.log.warn(
            { webhookId: webhook.id, eventId: event.id, attempt, error },
            "webhook delivery failed; replay it with POST /api/v1/webhooks/{id}/replay",
          );
          return;
        }
        throw new RetryLaterError(delayMs, `delivery attempt ${attempt} failed: ${error}`);
      } finally {
        slots.release(endpoint);
      }
    },
  };
}

/**
 * Per-endpoint slots: at most `limit` holders per key; others wait first-come first-served, each for
 * at most its own timeout (false then) or until its signal aborts (rejects).
 */
export class EndpointSlots {
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, Array<(granted: boolean) => void>>();

  constructor(private readonly limit: number) {}

  acquire(key: string, waitMs: number, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted();
    const busy = this.held.get(key) ?? 0;
    if (busy < this.limit) {
      this.held.set(key, busy + 1);
      return Promise.resolve(true);
    }
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const queue = this.waiting.get(key) ?? [];
      this.waiting.set(key, queue);
      const settle = (granted: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(granted);
      };
      const leave = () => {
        const index = queue.indexOf(settle);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0 && this.waiting.get(key) === queue) this.waiting.delete(key);
      };
      const onAbort = () => {
        clearTimeout(timer);
        leave();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        leave();
        settle(false);
      }, waitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(settle);
    });
  }

  /** Frees one slot of `key`, handing it straight to the longest waiter if there is one. */
  release(key: string): void {
    const queue = this.waiting.get(key);
    const next = queue?.shift();
    if (queue && queue.length === 0) this.waiting.delete(key);
    if (next) {
      next(true); // the slot passes on: `held` stays the same
      return;
    }
    const left = (this.held.get(key) ?? 1) - 1;
    if (left <= 0) this.held.delete(key);
    else this.held.set(key, left);
  }

  /** Slots held now for `key` (for tests). */
  inUse(key: string): number {
    return this.held.get(key) ?? 0;
  }
}
