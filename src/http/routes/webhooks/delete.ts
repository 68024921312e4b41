// DELETE /api/v1/webhooks/{id} (Unipile v1): pending deliveries are dropped with it.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function deleteWebhookRoute(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.delete(
      "/api/v1/webhooks/:id",
      {
        schema: {
          summary: "Delete a webhook",
          tags: ["Webhooks"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          response: {
            200: Type.Object({ object: Type.Literal("WebhookDeleted") }),
            401: ErrorSchema,
            404: ErrorSchema,
          },
        },
      },
      async (request) => {
        await webhooks.delete(request.params.id);
        return { object: "WebhookDeleted" as const };
      },
    );
  };
}
