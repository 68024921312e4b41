// The outbox every event producer writes to: an event is stored with one delivery job per matching
// webhook before `publish` resolves, so a crash cannot lose it.
import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { WebhookDeliveryRow, WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { AccountEvents, AccountStatusMessage } from "../accounts/account-events.ts";
import type { MailEventType, WebhookSource } from "./payload.ts";
import { accountEventId, DELIVER_JOB, eventName, newDelivery, parseList } from "./webhook-model.ts";

/** An event for the outbox. `id` is the producer's stable id: publishing it again is a no-op. */
export interface PublishedEvent {
  id: string;
  type: MailEventType | "account_status";
  accountId: string;
  /**
   * mail_*: the email payload of reference §3.3 (`email_id`, `date`, `from_attendee`, …); Mailroom
   * sets `account_id`, `event` and `webhook_name` per webhook. account_status: `{AccountStatus: {…}}`.
   */
  payload: Record<string, unknown>;
}

export interface OutboxDeps {
  repo: WebhookRepository;
  queue: JobQueue;
  clock: Clock;
}

/** Queues the delivery job of a pending delivery (one job per delivery round). */
export async function enqueueDelivery(queue: JobQueue, delivery: WebhookDeliveryRow): Promise<void> {
  if (delivery.status !== "pending") return;
  await queue.enqueue(
    DELIVER_JOB,
    { deliveryId: delivery.id, round: delivery.round },
    { idempotencyKey: `${DELIVER_JOB}:${delivery.id}:${delivery.round}` },
  );
}

export class WebhookOutbox {
  constructor(private readonly d: OutboxDeps) {}

  /**
   * Resolves once the event and one delivery job per matching webhook are stored: from then on a
   * crash cannot lose it. Idempotent per event id, so a producer that is unsure whether a call went
   * through calls again (a partly stored event is completed, never duplicated).
   */
  async publish(event: PublishedEvent): Promise<{ eventId: string; deliveries: number }> {
    if (event.id.length === 0 || event.id.length > 200)
      throw new RangeError("An event id is 1 to 200 characters");
    const source: WebhookSource = event.type === "account_status" ? "account_status" : "email";
    const now = this.d.clock.now();
    await this.d.repo.insertEvent({
      id: event.id,
      type: event.type,
      source,
      account_id: event.accountId,
      payload: JSON.stringify(event.payload),
      created_at: now,
    });
    // The stored event wins over this call's copy (the first publish of an id defines it).
    const stored = await this.d.repo.findEvent(event.id);
    if (!stored) throw new Error(`Event ${event.id} vanished after insert`);
    const name = eventName(stored.type, JSON.parse(stored.payload) as Record<string, unknown>);
    let count = 0;
    for (const webhook of await this.d.repo.enabledBySource(stored.source)) {
      if (!parseList<string>(webhook.events).includes(name)) continue;
      const accounts = webhook.account_ids ? parseList<string>(webhook.account_ids) : undefined;
      if (accounts && !(stored.account_id && accounts.includes(stored.account_id))) continue;
      const delivery = await this.d.repo.ensureDelivery(
        newDelivery(stored.id, webhook.id, this.d.clock.now()),
      );
      await enqueueDelivery(this.d.queue, delivery);
      count++;
    }
    return { eventId: stored.id, deliveries: count };
  }

  /** Turns account outcomes (connect, reconnect, token failure, delete) into account_status events. */
  accountStatusListener(): AccountEvents {
    const publish = (
      account: { id: string; updated_at: number },
      message: AccountStatusMessage,
      reason?: string,
    ) =>
      this.publish({
        id: accountEventId(account.id, message, account.updated_at),
        type: "account_status",
        accountId: account.id,
        payload: {
          AccountStatus: {
            account_id: account.id,
            account_type: "OUTLOOK",
            message,
            ...(reason ? { reason } : {}),
          },
        },
      }).then(() => {});
    return {
      // Unipile tells receivers to wait for OK after CREATION_SUCCESS / RECONNECTED: a Microsoft
      // account can be used as soon as its tokens are stored, so OK follows at once.
      accountConnected: async ({ account, status }) => {
        await publish(account, status);
        await publish(account, "OK");
      },
      accountStatusChanged: ({ account, message, reason }) => publish(account, message, reason),
    };
  }
}
