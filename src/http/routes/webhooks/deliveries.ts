// GET /api/v1/webhooks/{id}/deliveries (Mailroom): the delivery log, oldest first, optionally by status.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { DeliveryListSchema } from "../../schemas/webhook.schema.ts";

export function listDeliveriesRoute(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/webhooks/:id/deliveries",
      {
        schema: {
          summary: "List a webhook's deliveries",
          tags: ["Webhooks"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          querystring: Type.Object({
            status: Type.Optional(
              Type.Union([Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed")]),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 100 })),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          }),
          response: { 200: DeliveryListSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
        },
      },
      async (request) =>
        webhooks.listDeliveries(request.params.id, {
          limit: request.query.limit ?? 100,
          cursor: request.query.cursor,
          status: request.query.status,
        }),
    );
  };
}
