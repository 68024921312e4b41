// Webhooks for the operator: list with the last delivery, create (secret shown once), delete, rotate
// the secret, send a test event through the real outbox, the delivery log and replay; and the
// notify_url callback signing secret, revealed on request.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type {
  CallbackSigningResponse,
  CreateWebhookResponse,
  DeliveriesResponse,
  DeliveryInfo,
  ReplayResponse,
  RotateSecretResponse,
  TestEventResponse,
  WebhookInfo,
  WebhooksResponse,
} from "../../../../web/src/api-types.ts";
import {
  type DeliveryItem,
  isTestEventId,
  type WebhookListItem,
} from "../../../domain/webhooks/webhook.service.ts";
import { AppError } from "../../../lib/errors.ts";
import type { DashboardDeps } from "./index.ts";

const LIST_LIMIT = 250;
const DELIVERY_LIMIT = 50;
const GRACE_HOURS = 24;
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

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
    app.get(
      "/webhooks",
      async (): Promise<WebhooksResponse> => ({
        webhooks: (await webhooks.overview(LIST_LIMIT)).map((w) => toWebhookInfo(w.webhook, w.lastDelivery)),
      }),
    );

    app.post(
      "/webhooks",
      {
        schema: {
          body: Type.Object({
            url: Type.String({ maxLength: 2000 }),
            source: Type.Union([Type.Literal("email"), Type.Literal("account_status")]),
            events: Type.Array(Type.String({ maxLength: 40 }), { maxItems: 20 }),
            name: Type.Optional(Type.String({ maxLength: 200 })),
            headers: Type.Optional(
              Type.Array(
                Type.Object({
                  key: Type.String({ maxLength: 200 }),
                  value: Type.String({ maxLength: 4000 }),
                }),
                { maxItems: 20 },
              ),
            ),
          }),
        },
      },
      async (request, reply): Promise<CreateWebhookResponse> => {
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
    );

    app.delete("/webhooks/:id", { schema: { params: Params } }, async (request) => {
      await webhooks.delete(request.params.id);
      services.log.info({ webhookId: request.params.id }, "Webhook deleted from the dashboard");
      return { deleted: true };
    });

    app.post(
      "/webhooks/:id/rotate-secret",
      { schema: { params: Params } },
      async (request): Promise<RotateSecretResponse> => {
        const rotated = await webhooks.rotateSecret(request.params.id, GRACE_HOURS * 3600_000);
        services.log.info({ webhookId: request.params.id }, "Webhook secret rotated from the dashboard");
        return {
          secret: rotated.secret,
          previousSecretExpiresAt: rotated.previousSecretExpiresAt,
          graceHours: GRACE_HOURS,
        };
      },
    );

    app.post(
      "/webhooks/:id/test",
      { schema: { params: Params } },
      async (request, reply): Promise<TestEventResponse> => {
        const sent = await webhooks.sendTest(request.params.id);
        services.log.info(
          { webhookId: request.params.id, eventId: sent.eventId },
          "Test event queued from the dashboard",
        );
        reply.code(202);
        return sent;
      },
    );

    app.get(
      "/webhooks/:id/deliveries",
      { schema: { params: Params } },
      async (request): Promise<DeliveriesResponse> => ({
        deliveries: (await webhooks.recentDeliveries(request.params.id, DELIVERY_LIMIT)).map(toDeliveryInfo),
      }),
    );

    app.post(
      "/webhooks/:id/replay",
      {
        schema: {
          params: Params,
          body: Type.Union([
            Type.Object({ deliveryId: Type.String({ minLength: 1, maxLength: 64 }) }),
            Type.Object({ since: Type.Integer({ minimum: 0 }) }),
          ]),
        },
      },
      async (request, reply): Promise<ReplayResponse> => {
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
    );

    // A POST (so it needs the CSRF header like any change) that answers the secret; never listed.
    app.post("/callback-signing/reveal", async (): Promise<CallbackSigningResponse> => {
      services.log.info("Callback signing secret revealed in the dashboard");
      return { secret: await services.callbackSigning.get() };
    });
  };
}
