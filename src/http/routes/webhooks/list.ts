// GET /api/v1/webhooks (Unipile v1): WebhookList, keyset-paginated.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { WebhookListSchema } from "../../schemas/webhook.schema.ts";

export function listWebhooksRoute(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/webhooks",
      {
        schema: {
          summary: "List webhooks",
          tags: ["Webhooks"],
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 100 })),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          }),
          response: { 200: WebhookListSchema, 400: ErrorSchema, 401: ErrorSchema },
        },
      },
      async (request) => webhooks.list({ limit: request.query.limit ?? 100, cursor: request.query.cursor }),
    );
  };
}
