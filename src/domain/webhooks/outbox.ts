// The outbox every event producer writes to: an event is stored with its deliveries and their delivery
// jobs (one per webhook and publish), in one transaction, before `publish` resolves, so a crash cannot lose it.
import type { BatchedJob, JobQueue, JobTransaction } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { WebhookDeliveryRow, WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import {
  type AccountEvent,
  type AccountEventListener,
  type AccountStatusMessage,
  isConnection,
} from "../accounts/account-events.ts";
import type { MailEventType, TrackingEventType, WebhookSource } from "./payload.ts";
import {
  accountEventId,
  DELIVER_BATCH_JOB,
  DELIVER_JOB,
  deliveryJobKey,
  eventName,
  newDelivery,
  parseList,
} from "./webhook-model.ts";

/** An event for the outbox. `id` is the producer's stable id: publishing it again is a no-op. */
export interface PublishedEvent {
  id: string;
  type: MailEventType | TrackingEventType | "account_status";
  accountId: string;
  /**
   * mail_*: the email payload of reference §3.3 (`email_id`, `date`, `from_attendee`, …) or the
   * tracking payload of §3.5 (`mail_opened`, `mail_link_clicked`); Mailroom sets `account_id`,
   * `event` and `webhook_name` per webhook. account_status: `{AccountStatus: {…}}`.
   */
  payload: Record<string, unknown>;
}

export interface OutboxDeps {
  repo: WebhookRepository;
  queue: JobQueue;
  clock: Clock;
  transaction: UnitOfWorkRunner;
}

/**
 * Queues the delivery job of a pending delivery (one job per delivery round), in `transaction` when
 * one is given.
 */
export async function enqueueDelivery(
  queue: JobQueue,
  delivery: WebhookDeliveryRow,
  transaction?: JobTransaction,
): Promise<void> {
  if (delivery.status !== "pending") return;
  const job = deliveryJob(delivery);
  await queue.enqueue(job.kind, job.payload, { ...job.options, ...(transaction ? { transaction } : {}) });
}

/** The job of a delivery round; its idempotency key makes a second enqueue of the round a no-op. */
function deliveryJob(delivery: WebhookDeliveryRow): BatchedJob<typeof DELIVER_JOB> {
  return {
    kind: DELIVER_JOB,
    payload: { deliveryId: delivery.id, round: delivery.round, webhookId: delivery.webhook_id },
    options: { idempotencyKey: deliveryJobKey(delivery.id, delivery.round) },
  };
}

/** Deliveries in one batch job at most (its payload lists their ids). */
const DELIVERIES_PER_JOB = 64;

/**
 * The jobs of new deliveries: per webhook, one job for its deliveries (delivery-batch.ts), or the
 * delivery's own job when it is the only one. A batch needs no key: it is enqueued once, with the
 * deliveries it names, and a publish of a stored event enqueues nothing.
 */
export function deliveryJobs(
  deliveries: readonly WebhookDeliveryRow[],
): BatchedJob<typeof DELIVER_JOB | typeof DELIVER_BATCH_JOB>[] {
  const byWebhook = new Map<string, WebhookDeliveryRow[]>();
  for (const delivery of deliveries) {
    const list = byWebhook.get(delivery.webhook_id) ?? [];
    list.push(delivery);
    byWebhook.set(delivery.webhook_id, list);
  }
  const jobs: BatchedJob<typeof DELIVER_JOB | typeof DELIVER_BATCH_JOB>[] = [];
  for (const [webhookId, list] of byWebhook)
    for (let from = 0; from < list.length; from += DELIVERIES_PER_JOB) {
      const part = list.slice(from, from + DELIVERIES_PER_JOB);
      if (part.length === 1) jobs.push(deliveryJob(part[0]!));
      else
        jobs.push({
          kind: DELIVER_BATCH_JOB,
          payload: { deliveryIds: part.map((d) => d.id), round: part[0]!.round, webhookId },
        });
    }
  return jobs;
}

export class WebhookOutbox {
  constructor(private readonly d: OutboxDeps) {}

  /**
   * Stores the event, one delivery per matching webhook and each delivery's job in one unit of work:
   * when it resolves all of them are stored, when it throws none is. Idempotent per event id: a
   * second publish of a stored event finds its deliveries and their jobs in place and adds nothing.
   */
  async publish(event: PublishedEvent): Promise<{ eventId: string; deliveries: number }> {
    const [published] = await this.publishMany([event]);
    return published!;
  }

  /**
   * Publishes several events in one unit of work (one commit on SQLite, where a commit per event cost
   * more than its statements): all of them are stored with their deliveries and jobs, or none is.
   * Each is idempotent per event id as with `publish`; answers are in the events' order.
   */
  async publishMany(events: readonly PublishedEvent[]): Promise<{ eventId: string; deliveries: number }[]> {
    if (events.length === 0) return [];
    return this.d.transaction((uow) => this.publishIn(uow, events));
  }

  /**
   * Publishes events in the caller's unit of work, so they commit (or roll back) with what the caller
   * writes there: a producer's own rows and the events announcing them are stored together.
   */
  async publishIn(
    uow: UnitOfWork,
    events: readonly PublishedEvent[],
  ): Promise<{ eventId: string; deliveries: number }[]> {
    for (const event of events)
      if (event.id.length === 0 || event.id.length > 200)
        throw new RangeError("An event id is 1 to 200 characters");
    if (events.length === 0) return [];
    // One occurrence per id: a repeated event is the same event.
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    const now = this.d.clock.now();
    const stored = await uow.webhooks.insertEvents(
      unique.map((event) => ({
        id: event.id,
        type: event.type,
        source: sourceOf(event.type),
        account_id: event.accountId,
        payload: JSON.stringify(event.payload),
        created_at: now,
      })),
    );
    const webhooksBySource = new Map<
      WebhookSource,
      Awaited<ReturnType<typeof uow.webhooks.enabledBySource>>
    >();
    const deliveries: WebhookDeliveryRow[] = [];
    const counts = new Map<string, number>();
    for (const event of unique) {
      if (!stored.has(event.id)) {
        // Published before, with everything it needed (a partly stored event cannot exist).
        counts.set(event.id, await uow.webhooks.countDeliveries(event.id));
        continue;
      }
      const source = sourceOf(event.type);
      let webhooks = webhooksBySource.get(source);
      if (!webhooks) {
        webhooks = await uow.webhooks.enabledBySource(source);
        webhooksBySource.set(source, webhooks);
      }
      const name = eventName(event.type, event.payload);
      let count = 0;
      for (const webhook of webhooks) {
        if (!parseList<string>(webhook.events).includes(name)) continue;
        const accounts = webhook.account_ids ? parseList<string>(webhook.account_ids) : undefined;
        if (accounts && !accounts.includes(event.accountId)) continue;
        deliveries.push(newDelivery(event.id, webhook.id, now));
        count++;
      }
      counts.set(event.id, count);
    }
    // New events have no deliveries yet: one insert and one enqueue for all of them.
    await uow.webhooks.insertDeliveries(deliveries);
    await this.d.queue.enqueueMany(deliveryJobs(deliveries), { transaction: uow.tx });
    return events.map((event) => ({ eventId: event.id, deliveries: counts.get(event.id) ?? 0 }));
  }

  /**
   * Publishes account events as account_status events, with ids derived from the account event's,
   * so a fan-out run again publishes nothing new.
   */
  accountStatusListener(): AccountEventListener {
    const publish = (event: AccountEvent, message: AccountStatusMessage) =>
      this.publish({
        id: accountEventId(event.id, message),
        type: "account_status",
        accountId: event.accountId,
        payload: {
          AccountStatus: {
            account_id: event.accountId,
            account_type: "OUTLOOK",
            message,
            ...(message === event.type && event.reason ? { reason: event.reason } : {}),
          },
        },
      });
    return {
      name: "account_status webhooks",
      async handle(event) {
        await publish(event, event.type);
        // Unipile tells receivers to wait for OK after CREATION_SUCCESS / RECONNECTED: a Microsoft
        // account can be used as soon as its tokens are stored, so OK follows at once.
        if (isConnection(event)) await publish(event, "OK");
      },
    };
  }
}

/** The source whose webhooks an event goes to. */
export function sourceOf(type: PublishedEvent["type"]): WebhookSource {
  if (type === "account_status") return "account_status";
  return type === "mail_opened" || type === "mail_link_clicked" ? "email_tracking" : "email";
}
