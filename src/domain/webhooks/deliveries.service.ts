// A webhook's delivery log and replay: what was sent, what the receiver answered (or why nothing
// was sent), and delivering again on request.
import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import { AppError } from "../../lib/errors.ts";
import type { WebhookDeliveryRow, WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWork, UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import { encodeCursor } from "../pagination.ts";
import { enqueueDelivery } from "./outbox.ts";
import { mustFindWebhook } from "./webhook-admin.service.ts";
import { type DeliveryItem, newDelivery, pageAfter, toDeliveryItem } from "./webhook-model.ts";

const MAX_REPLAY = 1_000;

export interface DeliveryLogDeps {
  repo: WebhookRepository;
  queue: JobQueue;
  clock: Clock;
  transaction: UnitOfWorkRunner;
}

export class DeliveryLog {
  constructor(private readonly d: DeliveryLogDeps) {}

  async listDeliveries(
    webhookId: string,
    options: {
      limit: number;
      cursor?: string | undefined;
      status?: WebhookDeliveryRow["status"] | undefined;
    },
  ): Promise<{ object: "WebhookDeliveryList"; items: DeliveryItem[]; cursor: string | null }> {
    await mustFindWebhook(this.d.repo, webhookId);
    const after = options.cursor ? pageAfter(options.cursor) : undefined;
    const rows = await this.d.repo.deliveryPage(webhookId, {
      limit: options.limit + 1,
      after,
      status: options.status,
    });
    const page = rows.slice(0, options.limit);
    const items: DeliveryItem[] = [];
    for (const row of page) {
      const event = await this.d.repo.findEvent(row.event_id);
      items.push(toDeliveryItem(row, event?.type ?? "", event?.account_id ?? null));
    }
    const last = page[page.length - 1];
    return {
      object: "WebhookDeliveryList",
      items,
      cursor: rows.length > options.limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
    };
  }

  /** A webhook's newest deliveries, newest first. */
  async recentDeliveries(webhookId: string, limit: number): Promise<DeliveryItem[]> {
    await mustFindWebhook(this.d.repo, webhookId);
    const rows = await this.d.repo.recentDeliveries(webhookId, limit);
    const events = new Map(
      (await this.d.repo.findEvents([...new Set(rows.map((r) => r.event_id))])).map((e) => [e.id, e]),
    );
    return rows.map((row) => {
      const event = events.get(row.event_id);
      return toDeliveryItem(row, event?.type ?? "", event?.account_id ?? null);
    });
  }

  /**
   * Delivers again, from attempt 1: one event or delivery (whatever its delivery's state, so a receiver that lost
   * data can ask again), or every failed delivery created at or after `since`.
   */
  async replay(
    webhookId: string,
    target: { eventId: string } | { deliveryId: string } | { since: number },
  ): Promise<{ deliveryIds: string[] }> {
    const webhook = await mustFindWebhook(this.d.repo, webhookId);
    let deliveries: WebhookDeliveryRow[];
    if ("deliveryId" in target) {
      const delivery = await this.d.repo.findDelivery(target.deliveryId);
      if (!delivery || delivery.webhook_id !== webhook.id)
        throw new AppError("resource_not_found", {
          detail: `Delivery ${target.deliveryId} of webhook ${webhook.id} not found`,
        });
      deliveries = [delivery];
    } else if ("eventId" in target) {
      const event = await this.d.repo.findEvent(target.eventId);
      if (!event) throw new AppError("resource_not_found", { detail: `Event ${target.eventId} not found` });
      const existing = await this.d.repo.findDeliveryFor(event.id, webhook.id);
      if (!existing) {
        const now = this.d.clock.now();
        const created = await this.d.transaction(async (uow) => {
          const delivery = await uow.webhooks.ensureDelivery(newDelivery(event.id, webhook.id, now));
          return this.restart(uow, delivery);
        });
        return { deliveryIds: created ? [created.id] : [] };
      }
      deliveries = [existing];
    } else {
      deliveries = await this.d.repo.failedSince(webhook.id, target.since, MAX_REPLAY);
    }
    const deliveryIds: string[] = [];
    for (const delivery of deliveries) {
      const restarted = await this.d.transaction((uow) => this.restart(uow, delivery));
      if (restarted) deliveryIds.push(restarted.id);
    }
    return { deliveryIds };
  }

  /** A new round and its job, in the caller's unit of work: a round without its job would stay pending. */
  private async restart(
    uow: UnitOfWork,
    delivery: WebhookDeliveryRow,
  ): Promise<WebhookDeliveryRow | undefined> {
    const restarted = await uow.webhooks.restart(delivery.id, this.d.clock.now());
    if (restarted) await enqueueDelivery(this.d.queue, restarted, uow.tx);
    return restarted;
  }
}
