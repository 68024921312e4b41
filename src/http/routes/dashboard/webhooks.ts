// Webhooks for the operator: list with the last delivery, create (secret shown once), delete, rotate
// the secret, send a test event through the real outbox, the delivery log and replay; and the
// notify_url callback signing secret, revealed on request.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import {
  DASHBOARD_ENDPOINTS as API,
  type DeliveryInfo,
  type WebhookInfo,
} from "../../../contracts/dashboard/index.ts";
import {
  type DeliveryItem,
  isTestEventId,
  type WebhookListItem,
} from "../../../domain/webhooks/webhook.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

const LIST_LIMIT = 250;
const DELIVERY_LIMIT = 50;
const GRACE_HOURS = 24;

function time(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso);
}

export function toDeliveryInfo(d: DeliveryItem): DeliveryInfo {
  return {
    id: d.id,
    eventId: d.event_id,
    event: d.event,
    test: isTestEventId(d.event_id),
    status: d.status,
    attempts: d.attempts,
    responseStatus: d.last_status_code,
    responseExcerpt: d.last_response_excerpt,
    error: d.last_error,
    nextAttemptAt: time(d.next_attempt_at),
    deliveredAt: time(d.delivered_at),
    createdAt: Date.parse(d.created_at),
  };
}

function toWebhookInfo(w: WebhookListItem, last: DeliveryItem | null): WebhookInfo {
  return {
    id: w.id,
    name: w.name ?? null,
    url: w.request_url,
    source: w.source,
    events: w.mailroom.events,
    enabled: w.enabled,
    headerNames: w.headers.map((h) => h.key),
    allAccounts: w.mailroom.all_accounts,
    createdAt: Date.parse(w.created_at),
    lastDelivery: last
      ? {
          status: last.status,
          responseStatus: last.last_status_code,
          attempts: last.attempts,
          createdAt: Date.parse(last.created_at),
        }
      : null,
  };
}

export function webhooksRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { services } = deps;
  const webhooks = services.webhooks;

  async function describe(id: string): Promise<WebhookInfo> {
    const found = await webhooks.summary(id);
    return toWebhookInfo(found.webhook, found.lastDelivery);
  }

  return async (app) => {
    app.route({
      ...routeOf(API["GET /webhooks"]),
      handler: async () => ({
        webhooks: (await webhooks.overview(LIST_LIMIT)).map((w) => toWebhookInfo(w.webhook, w.lastDelivery)),
      }),
    });

    app.route({
      ...routeOf(API["POST /webhooks"]),
      handler: async (request, reply) => {
        const b = request.body;
        // The URL is checked by the service: syntax and destination policy, as for the API.
        const url = b.url.trim();
        if (b.events.length === 0)
          throw new AppError("invalid_parameters", { detail: "Pick at least one event to send." });
        const { webhookId, secret } = await webhooks.create({
          requestUrl: url,
          source: b.source,
          events: b.events,
          name: b.name?.trim() || undefined,
          headers: b.headers?.filter((h) => h.key.trim()).map((h) => ({ key: h.key.trim(), value: h.value })),
        });
        services.log.info({ webhookId, source: b.source }, "Webhook created from the dashboard");
        reply.code(201);
        return { secret, webhook: await describe(webhookId) };
      },
    });

    app.route({
      ...routeOf(API["DELETE /webhooks/:id"]),
      handler: async (request) => {
        await webhooks.delete(request.params.id);
        services.log.info({ webhookId: request.params.id }, "Webhook deleted from the dashboard");
        return { deleted: true as const };
      },
    });

    app.route({
      ...routeOf(API["POST /webhooks/:id/rotate-secret"]),
      handler: async (request) => {
        const rotated = await webhooks.rotateSecret(request.params.id, GRACE_HOURS * 3600_000);
        services.log.info({ webhookId: request.params.id }, "Webhook secret rotated from the dashboard");
        return {
          secret: rotated.secret,
          previousSecretExpiresAt: rotated.previousSecretExpiresAt,
          graceHours: GRACE_HOURS,
        };
      },
    });

    app.route({
      ...routeOf(API["POST /webhooks/:id/test"]),
      handler: async (request, reply) => {
        const sent = await webhooks.sendTest(request.params.id);
        services.log.info(
          { webhookId: request.params.id, eventId: sent.eventId },
          "Test event queued from the dashboard",
        );
        reply.code(202);
        return sent;
      },
    });

    app.route({
      ...routeOf(API["GET /webhooks/:id/deliveries"]),
      handler: async (request) => ({
        deliveries: (await webhooks.recentDeliveries(request.params.id, DELIVERY_LIMIT)).map(toDeliveryInfo),
      }),
    });

    app.route({
      ...routeOf(API["POST /webhooks/:id/replay"]),
      handler: async (request, reply) => {
        const body = request.body;
        const target = "deliveryId" in body ? { deliveryId: body.deliveryId } : { since: body.since };
        const { deliveryIds } = await webhooks.replay(request.params.id, target);
        services.log.info(
          { webhookId: request.params.id, count: deliveryIds.length },
          "Webhook deliveries replayed from the dashboard",
        );
        reply.code(202);
        return { count: deliveryIds.length };
      },
    });

    // A POST (so it needs the CSRF header like any change) that answers the secret; never listed.
    app.route({
      ...routeOf(API["POST /callback-signing/reveal"]),
      handler: async () => {
        services.log.info("Callback signing secret revealed in the dashboard");
        return { secret: await services.callbackSigning.get() };
      },
    });
  };
}
