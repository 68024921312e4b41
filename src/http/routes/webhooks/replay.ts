// POST /api/v1/webhooks/{id}/replay (Mailroom): deliver one event again, or every failed delivery
// since a time. Each replayed delivery starts again from attempt 1.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function replayRoute(webhooks: WebhookService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/webhooks/:id/replay",
      {
        schema: {
          summary: "Replay webhook deliveries",
          description:
            "Give `event_id` to deliver one event again (whatever its delivery's state), or `since` (ISO 8601) to deliver again every failed delivery created since then (at most 1000 per call).",
          tags: ["Webhooks"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          body: Type.Object(
            {
              event_id: Type.Optional(Type.String({ minLength: 1 })),
              since: Type.Optional(Type.String({ minLength: 1 })),
            },
            { additionalProperties: false },
          ),
          response: {
            202: Type.Object({
              object: Type.Literal("WebhookReplayQueued"),
              count: Type.Integer(),
              delivery_ids: Type.Array(Type.String()),
            }),
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const { event_id: eventId, since } = request.body;
        if ((eventId === undefined) === (since === undefined))
          throw new AppError("invalid_parameters", { detail: "body: give either event_id or since" });
        let target: { eventId: string } | { since: number };
        if (eventId !== undefined) target = { eventId };
        else {
          const at = Date.parse(since as string);
          if (Number.isNaN(at))
            throw new AppError("invalid_parameters", { detail: "body.since: not an ISO 8601 date-time" });
          target = { since: at };
        }
        const { deliveryIds } = await webhooks.replay(request.params.id, target);
        return reply.code(202).send({
          object: "WebhookReplayQueued" as const,
          count: deliveryIds.length,
          delivery_ids: deliveryIds,
        });
      },
    );
  };
}
