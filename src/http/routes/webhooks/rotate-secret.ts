// POST /api/v1/webhooks/{id}/rotate_secret (Mailroom): a new signing secret; the old one keeps
// signing alongside it for the grace period, so receivers can switch without losing a delivery.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function rotateSecretRoute(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/webhooks/:id/rotate_secret",
      {
        schema: {
          summary: "Rotate a webhook's signing secret",
          description:
            "Until `previous_secret_expires_at`, `X-Mailroom-Signature` carries two `v1=` values, one per secret.",
          tags: ["Webhooks"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          body: Type.Optional(
            Type.Object(
              {
                grace_period_seconds: Type.Optional(
                  Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 86_400 }),
                ),
              },
              { additionalProperties: false },
            ),
          ),
          response: {
            200: Type.Object({
              object: Type.Literal("WebhookSecretRotated"),
              webhook_id: Type.String(),
              secret: Type.String(),
              previous_secret_expires_at: Type.String({ format: "date-time" }),
            }),
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
          },
        },
      },
      async (request) => {
        const grace = request.body?.grace_period_seconds ?? 86_400;
        const rotated = await webhooks.rotateSecret(request.params.id, grace * 1000);
        return {
          object: "WebhookSecretRotated" as const,
          webhook_id: request.params.id,
          secret: rotated.secret,
          previous_secret_expires_at: new Date(rotated.previousSecretExpiresAt).toISOString(),
        };
      },
    );
  };
}
