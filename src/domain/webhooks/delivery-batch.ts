// The `webhooks.deliver-batch` job: one publish's deliveries to one webhook. Each delivery is still
// its own signed POST with its own attempt count, outcome and retry schedule; what the batch shares is
// the job (one BullMQ job, or one job row, instead of one per delivery) and the statements: per chunk
// one statement counts the first attempts (and reads the deliveries, webhook and events), one records
// the deliveries delivered. A delivery that needs another attempt leaves the batch: its outcome and
// its own `webhooks.deliver` job (keyed as a delivery's job always is) commit together, and from then on it is retried
// as any single delivery.
//
// The batch only makes first attempts. A run that finds a delivery of its round already attempted
// (an earlier run crashed, failed or was snoozed after counting it) does not POST it again itself: it
// makes sure the delivery's own job exists (an idempotent enqueue: a no-op when the retry's job was
// already committed), and that job makes the next attempt, numbered after the counted one.

import type { JobContext, JobPayloads, JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { DeliveryOutcome, WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AttemptReport, DeliveryAttempts } from "./delivery-attempt.ts";
import type { EndpointSlots } from "./endpoint-slots.ts";
import { DELIVER_JOB, deliveryJobKey } from "./webhook-model.ts";

/** Deliveries per attempt statement: also the most a crash can leave attempted and unrecorded. */
export const DELIVERIES_PER_STATEMENT = 16;

export interface BatchDeps {
  repo: WebhookRepository;
  queue: JobQueue;
  transaction: UnitOfWorkRunner;
  clock: Clock;
  options: { perEndpointConcurrency: number; endpointWaitMs: number };
  slots: EndpointSlots;
  attempts: DeliveryAttempts;
  snooze: () => Error;
}

export async function deliverBatch(
  d: BatchDeps,
  payload: JobPayloads["webhooks.deliver-batch"],
  ctx: JobContext,
): Promise<void> {
  const { webhookId, round } = payload;
  for (let from = 0; from < payload.deliveryIds.length; from += DELIVERIES_PER_STATEMENT) {
    const chunk = payload.deliveryIds.slice(from, from + DELIVERIES_PER_STATEMENT);
    // The endpoint's slots as for a single delivery: the first waited for (in line, briefly), the
    // rest taken if free. None within `endpointWaitMs` snoozes the job; the chunks done stay done.
    if (!(await d.slots.acquire(webhookId, d.options.endpointWaitMs, ctx.signal))) throw d.snooze();
    let held = 1;
    while (held < Math.min(d.options.perEndpointConcurrency, chunk.length)) {
      if (!(await d.slots.acquire(webhookId, 0))) break;
      held++;
    }
    try {
      const now = d.clock.now();
      const started = await d.repo.startFirstAttempts(chunk, round, now);
      if (started.length < chunk.length)
        await handOverAttempted(
          d,
          chunk.filter((id) => !started.some((s) => s.delivery.id === id)),
          round,
          webhookId,
        );
      const sendable = started.flatMap((s) => (s.webhook ? [{ ...s, webhook: s.webhook }] : []));
      const reports = await inParallel(sendable, held, (s) => d.attempts.send(s, ctx.signal));
      await record(
        d,
        round,
        webhookId,
        sendable.map((s, i) => ({ id: s.delivery.id, report: reports[i]! })),
      );
      sendable.forEach((s, i) => {
        const report = reports[i]!;
        if (!s.event) return;
        const fields = { webhookId, eventId: s.event.id, attempt: s.delivery.attempts };
        if (report.row.status === "delivered") ctx.log.info(fields, "webhook delivered");
        else if (report.retryInMs === undefined)
          ctx.log.warn(
            { ...fields, error: report.error },
            "webhook delivery failed; replay it with POST /api/v1/webhooks/{id}/replay",
          );
        else ctx.log.info({ ...fields, error: report.error }, "webhook delivery attempt failed; retried");
      });
    } finally {
      for (let i = 0; i < held; i++) d.slots.release(webhookId);
    }
  }
}

/**
 * The outcomes of a chunk: those delivered with the same answer in one statement; a failed one on its
 * own; one to be retried with its own job, in one transaction for all of them.
 */
async function record(
  d: BatchDeps,
  round: number,
  webhookId: string,
  outcomes: { id: string; report: AttemptReport }[],
): Promise<void> {
  const delivered = new Map<string, { row: DeliveryOutcome; ids: string[] }>();
  const retried: { id: string; row: DeliveryOutcome }[] = [];
  for (const { id, report } of outcomes) {
    const row = report.row;
    if (row.status === "delivered") {
      const key = JSON.stringify([row.last_status_code, row.last_response_excerpt]);
      const group = delivered.get(key) ?? { row, ids: [] };
      group.ids.push(id);
      delivered.set(key, group);
    } else if (report.retryInMs === undefined) await d.repo.recordOutcome(id, round, row);
    else retried.push({ id, row });
  }
  for (const { row, ids } of delivered.values()) await d.repo.recordOutcomes(ids, round, row);
  if (retried.length === 0) return;
  await d.transaction(async (uow) => {
    for (const { id, row } of retried) {
      await uow.webhooks.recordOutcome(id, round, row);
      await d.queue.enqueue(
        DELIVER_JOB,
        { deliveryId: id, round, webhookId },
        {
          idempotencyKey: deliveryJobKey(id, round),
          ...(row.next_attempt_at === null ? {} : { runAt: row.next_attempt_at }),
          transaction: uow.tx,
        },
      );
    }
  });
}

/** Deliveries of this round attempted by an earlier run: each gets its own job if it has none yet. */
async function handOverAttempted(d: BatchDeps, ids: string[], round: number, webhookId: string) {
  for (const delivery of await d.repo.deliveryStates(ids)) {
    if (delivery.status !== "pending" || delivery.round !== round || delivery.attempts === 0) continue;
    await d.queue.enqueue(
      DELIVER_JOB,
      { deliveryId: delivery.id, round, webhookId },
      {
        idempotencyKey: deliveryJobKey(delivery.id, round),
        ...(delivery.next_attempt_at === null ? {} : { runAt: delivery.next_attempt_at }),
      },
    );
  }
}

/** Maps `items` with at most `limit` calls in flight; results in the items' order. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
