// Every webhook route, registered together so the app factory names one plugin.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { IdempotencyService } from "../../../domain/idempotency/idempotency.service.ts";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { createWebhookRoute } from "./create.ts";
import { deleteWebhookRoute } from "./delete.ts";
import { listDeliveriesRoute } from "./deliveries.ts";
import { listWebhooksRoute } from "./list.ts";
import { replayRoute } from "./replay.ts";
import { rotateSecretRoute } from "./rotate-secret.ts";

export function webhookRoutes(
  webhooks: WebhookService,
  idempotency: IdempotencyService,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(createWebhookRoute(webhooks, idempotency));
    await app.register(listWebhooksRoute(webhooks));
    await app.register(deleteWebhookRoute(webhooks));
    await app.register(rotateSecretRoute(webhooks));
    await app.register(listDeliveriesRoute(webhooks));
    await app.register(replayRoute(webhooks));
  };
}
