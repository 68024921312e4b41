// POST /api/v1/webhooks (Unipile v1): 201 {object: "WebhookCreated", webhook_id} plus the signing secret.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { IdempotencyService } from "../../../domain/idempotency/idempotency.service.ts";
import { WEBHOOK_SOURCES, type WebhookSource } from "../../../domain/webhooks/payload.ts";
import type { WebhookService } from "../../../domain/webhooks/webhook.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { answerOnce } from "../../idempotency.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { WebhookCreatedSchema } from "../../schemas/webhook.schema.ts";

const CreateWebhookBody = Type.Object(
  {
    // Checked by the service (the URL validator and the destination policy), not by a pattern here.
    request_url: Type.String({ minLength: 1, description: "an http(s) URL" }),
    source: Type.String({ minLength: 1, description: "email, email_tracking or account_status" }),
    name: Type.Optional(
      Type.String({ description: "Sent as webhook_name in email and email_tracking payloads" }),
    ),
    format: Type.Optional(Type.Union([Type.Literal("json"), Type.Literal("form")])),
    account_ids: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    enabled: Type.Optional(Type.Boolean()),
    headers: Type.Optional(
      Type.Array(
        Type.Object(
          { key: Type.String({ minLength: 1 }), value: Type.String() },
          { additionalProperties: false },
        ),
      ),
    ),
    events: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    data: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String({ minLength: 1 }), key: Type.String({ minLength: 1 }) },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export function createWebhookRoute(
  webhooks: WebhookService,
  idempotency: IdempotencyService,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/webhooks",
      {
        schema: {
          summary: "Create a webhook",
          description:
            'Mailroom POSTs each matching event to `request_url`, signed with `X-Mailroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, with `X-Mailroom-Event-Id` and `X-Mailroom-Attempt`. The secret is returned once (and again to a retry with the same `Idempotency-Key`, a Mailroom extension).',
          tags: ["Webhooks"],
          body: CreateWebhookBody,
          response: {
            201: WebhookCreatedSchema,
            400: ErrorSchema,
            401: ErrorSchema,
            409: ErrorSchema,
            422: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if (!(WEBHOOK_SOURCES as readonly string[]).includes(b.source))
          throw new AppError("invalid_parameters", {
            detail: `body.source: Mailroom delivers ${WEBHOOK_SOURCES.join(", ")} webhooks`,
          });
        return answerOnce(idempotency, request, reply, b, async () => {
          const { webhookId, secret } = await webhooks.create({
            requestUrl: b.request_url,
            source: b.source as WebhookSource,
            name: b.name,
            format: b.format,
            accountIds: b.account_ids,
            enabled: b.enabled,
            headers: b.headers,
            events: b.events,
            data: b.data,
          });
          return {
            status: 201,
            body: { object: "WebhookCreated" as const, webhook_id: webhookId, secret },
          };
        });
      },
    );
  };
}
