// Outgoing webhooks, one entry point for the rest of Mailroom: admin (webhook-admin.service.ts), the
// outbox every event producer writes to (outbox.ts), the delivery log and replay
// (deliveries.service.ts), test events (test-events.ts) and the dashboard's views
// (dashboard-views.ts). Delivery itself is the `webhooks.deliver` and `webhooks.deliver-batch` jobs
// (delivery.job.ts, delivery-batch.ts).

import type { JobHandlerRegistry, JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import type { DestinationGuard } from "../../outbound/destination.ts";
import type { WebhookRepository } from "../../storage/repositories/webhook.repository.ts";
import type { UnitOfWorkRunner } from "../../storage/unit-of-work.ts";
import type { AccountEventListener } from "../accounts/account-events.ts";
import { WebhookViews } from "./dashboard-views.ts";
import { DeliveryLog } from "./deliveries.service.ts";
import { type DeliveryJobDeps, deliveryJobs } from "./delivery.job.ts";
import { WebhookOutbox } from "./outbox.ts";
import { sendTestEvent } from "./test-events.ts";
import { WebhookAdminService } from "./webhook-admin.service.ts";

export type { WebhookSummary } from "./dashboard-views.ts";
export type { PublishedEvent } from "./outbox.ts";
export type { CreateWebhookInput } from "./webhook-admin.service.ts";
export {
  accountEventId,
  DELIVER_JOB,
  type DeliveryItem,
  eventName,
  isTestEventId,
  parseList,
  TEST_EVENT_PREFIX,
  type WebhookListItem,
} from "./webhook-model.ts";

export interface WebhookServiceDeps {
  repo: WebhookRepository;
  secrets: Pick<SecretBox, "encrypt" | "decrypt">;
  /** Where webhooks may deliver (WEBHOOK_ALLOW_PRIVATE_ADDRESSES), checked at creation. */
  destinations: DestinationGuard;
  queue: JobQueue;
  clock: Clock;
  /** `publish` stores an event, its deliveries and their jobs in one unit of work. */
  transaction: UnitOfWorkRunner;
}

/** Registers the `webhooks.deliver` and `webhooks.deliver-batch` jobs. */
export function registerWebhookJobs(registry: JobHandlerRegistry, deps: DeliveryJobDeps): void {
  const [single, batch] = deliveryJobs(deps);
  registry.register(single);
  registry.register(batch);
}

export class WebhookService {
  readonly admin: WebhookAdminService;
  readonly outbox: WebhookOutbox;
  readonly deliveries: DeliveryLog;
  readonly views: WebhookViews;

  readonly create: WebhookAdminService["create"];
  readonly list: WebhookAdminService["list"];
  readonly delete: WebhookAdminService["delete"];
  readonly rotateSecret: WebhookAdminService["rotateSecret"];
  /** The outbox: resolves once the event and its delivery jobs are stored. */
  readonly publish: WebhookOutbox["publish"];
  /** Several events in one unit of work. */
  readonly publishMany: WebhookOutbox["publishMany"];
  /** Events in the caller's unit of work, committed with the caller's own rows. */
  readonly publishIn: WebhookOutbox["publishIn"];
  readonly listDeliveries: DeliveryLog["listDeliveries"];
  readonly recentDeliveries: DeliveryLog["recentDeliveries"];
  readonly replay: DeliveryLog["replay"];
  readonly overview: WebhookViews["overview"];
  readonly summary: WebhookViews["summary"];
  readonly eventsOfAccount: WebhookViews["eventsOfAccount"];

  constructor(private readonly d: WebhookServiceDeps) {
    this.admin = new WebhookAdminService(d);
    this.outbox = new WebhookOutbox(d);
    this.deliveries = new DeliveryLog(d);
    this.views = new WebhookViews(d.repo);
    this.create = this.admin.create.bind(this.admin);
    this.list = this.admin.list.bind(this.admin);
    this.delete = this.admin.delete.bind(this.admin);
    this.rotateSecret = this.admin.rotateSecret.bind(this.admin);
    this.publish = this.outbox.publish.bind(this.outbox);
    this.publishIn = this.outbox.publishIn.bind(this.outbox);
    this.publishMany = this.outbox.publishMany.bind(this.outbox);
    this.listDeliveries = this.deliveries.listDeliveries.bind(this.deliveries);
    this.recentDeliveries = this.deliveries.recentDeliveries.bind(this.deliveries);
    this.replay = this.deliveries.replay.bind(this.deliveries);
    this.overview = this.views.overview.bind(this.views);
    this.summary = this.views.summary.bind(this.views);
    this.eventsOfAccount = this.views.eventsOfAccount.bind(this.views);
  }

  /** A synthetic, clearly marked event delivered to this webhook only (the dashboard's "Send test event"). */
  sendTest(webhookId: string): Promise<{ eventId: string; deliveryId: string }> {
    return sendTestEvent(this.d, webhookId);
  }

  /** Turns account events into account_status events. */
  accountStatusListener(): AccountEventListener {
    return this.outbox.accountStatusListener();
  }
}
