// Read models for the dashboard: webhooks with their newest delivery, an account's recent events.
import type { WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import { mustFindWebhook } from "./webhook-admin.service.ts";
import {
  type DeliveryItem,
  eventName,
  toDeliveryItem,
  toListItem,
  type WebhookListItem,
} from "./webhook-model.ts";

export interface WebhookSummary {
  webhook: WebhookListItem;
  lastDelivery: DeliveryItem | null;
}

export class WebhookViews {
  constructor(private readonly repo: WebhookRepository) {}

  /** Every webhook (secrets never leave) with its newest delivery. */
  async overview(limit: number): Promise<WebhookSummary[]> {
    const rows = await this.repo.page(limit, undefined);
    const latest = await this.repo.latestDeliveries(rows.map((r) => r.id));
    return rows.map((row) => {
      const delivery = latest.get(row.id);
      return {
        webhook: toListItem(row),
        lastDelivery: delivery ? toDeliveryItem(delivery, "", null) : null,
      };
    });
  }

  /** One webhook (no secret) with its newest delivery. */
  async summary(id: string): Promise<WebhookSummary> {
    const row = await mustFindWebhook(this.repo, id);
    const [delivery] = await this.repo.recentDeliveries(id, 1);
    return { webhook: toListItem(row), lastDelivery: delivery ? toDeliveryItem(delivery, "", null) : null };
  }

  /** An account's newest events in the outbox, newest first, with the name webhooks subscribe to. */
  async eventsOfAccount(
    accountId: string,
    limit: number,
  ): Promise<{ id: string; type: string; name: string; payload: Record<string, unknown>; at: number }[]> {
    return (await this.repo.eventsOfAccount(accountId, limit)).map((row) => {
      const payload = JSON.parse(row.payload) as Record<string, unknown>;
      return { id: row.id, type: row.type, name: eventName(row.type, payload), payload, at: row.created_at };
    });
  }
}
