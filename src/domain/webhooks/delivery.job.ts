// The delivery jobs: `webhooks.deliver` POSTs an event to one webhook, signed, and records the outcome
// (replays, test events, retries, a lone delivery); `webhooks.deliver-batch` does the same for one
// publish's deliveries to one webhook (delivery-batch.ts). Both share the endpoints' slots. The delivery row, not the job, counts HTTP attempts
// and decides when to give up, so `X-Mailroom-Attempt` stays right across crashes; waiting for a busy
// endpoint snoozes the job and costs no attempt at all.

import { type JobDefinition, type JobQueue, RetryLaterError, SnoozeError } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import type { OutboundTransport } from "../../outbound/http-transport.ts";
import { DEFAULT_RETRY_DELAYS_MS } from "../../outbound/retry.ts";
import type { WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import { DeliveryAttempts } from "./delivery-attempt.ts";
import { deliverBatch } from "./delivery-batch.ts";
import { EndpointSlots } from "./endpoint-slots.ts";
import { DELIVER_BATCH_JOB, DELIVER_JOB } from "./webhook-model.ts";

export {
  ATTEMPT_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  MAX_EXCERPT_LENGTH,
  TEST_HEADER,
} from "./delivery-attempt.ts";
export { EndpointSlots } from "./endpoint-slots.ts";
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
  /** A batch hands a delivery to be retried to a job of its own, in the transaction of its outcome. */
  queue: JobQueue;
  transaction: UnitOfWorkRunner;
  options?: Partial<DeliveryOptions>;
  random?: () => number;
}

/**
 * Job runs beyond the delivery's HTTP attempts: each run makes at most one attempt, so this margin is
 * only for runs that ended before recording theirs (a crash, a database error).
 */
const RUNS_WITHOUT_ATTEMPT = 5;

/** The two delivery kinds, sharing one process's endpoint slots. */
export function deliveryJobs(
  deps: DeliveryJobDeps,
): [JobDefinition<"webhooks.deliver">, JobDefinition<"webhooks.deliver-batch">] {
  const options = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.options };
  const random = deps.random ?? Math.random;
  const slots = new EndpointSlots(options.perEndpointConcurrency);
  const attempts = new DeliveryAttempts({ ...deps, schedule: options, random });
  const snooze = () =>
    new SnoozeError(250 + Math.floor(random() * 750), "the endpoint has enough deliveries in flight");
  const backoff = { baseMs: 1_000, maxMs: 60_000 };
  // Each run makes at most one HTTP attempt per delivery, which the delivery row counts and bounds.
  const maxAttempts = options.maxAttempts + RUNS_WITHOUT_ATTEMPT;
  const batch: JobDefinition<"webhooks.deliver-batch"> = {
    kind: DELIVER_BATCH_JOB,
    // A batch keeps up to `perEndpointConcurrency` POSTs in flight: together about `concurrency`.
    concurrency: Math.max(1, Math.floor(options.concurrency / options.perEndpointConcurrency)),
    maxAttempts,
    backoff,
    handler: (payload, ctx) => deliverBatch({ ...deps, options, slots, attempts, snooze }, payload, ctx),
  };
  const single: JobDefinition<"webhooks.deliver"> = {
    kind: DELIVER_JOB,
    concurrency: options.concurrency,
    maxAttempts,
    backoff,
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
      if (!(await slots.acquire(endpoint, options.endpointWaitMs, ctx.signal))) throw snooze();
      try {
        const now = deps.clock.now();
        // The attempt is counted and the delivery, its webhook and its event read in one statement
        // (PostgreSQL); nothing when the round is over (delivered, restarted, gone).
        const started = await deps.repo.startAttemptToSend(deliveryId, round, now);
        if (!started?.webhook) return;
        const webhook = started.webhook;
        const report = await attempts.send({ ...started, webhook }, ctx.signal);
        // The outcome commits with the job's own (one SQLite commit) where the runner offers it.
        const row = report.row;
        if (ctx.withOutcome)
          ctx.withOutcome((tx) => deps.repo.inTransaction(tx).recordOutcome(deliveryId, round, row));
        else await deps.repo.recordOutcome(deliveryId, round, row);
        if (!started.event) return;
        const attempt = started.delivery.attempts;
        const eventId = started.event.id;
        if (row.status === "delivered") {
          ctx.log.info({ webhookId: webhook.id, eventId, attempt }, "webhook delivered");
          return;
        }
        if (report.retryInMs === undefined) {
          ctx.log.warn(
            { webhookId: webhook.id, eventId, attempt, error: report.error },
            "webhook delivery failed; replay it with POST /api/v1/webhooks/{id}/replay",
          );
          return;
        }
        throw new RetryLaterError(report.retryInMs, `delivery attempt ${attempt} failed: ${report.error}`);
      } finally {
        slots.release(endpoint);
      }
    },
  };
  return [single, batch];
}
