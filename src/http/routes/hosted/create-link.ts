import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { HostedAuthService } from "../../../domain/hosted-auth/hosted-auth.service.ts";
import type { IdempotencyService } from "../../../domain/idempotency/idempotency.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { answerOnce } from "../../idempotency.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

// Checked by the service (one URL validator for every URL Mailroom stores), not by a pattern here.
const HttpUrl = Type.String({ minLength: 1, description: "an http(s) URL" });

export const CreateLinkBody = Type.Object(
  {
    type: Type.Union([Type.Literal("create"), Type.Literal("reconnect")]),
    providers: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })]),
    ),
    reconnect_account: Type.Optional(Type.String({ minLength: 1 })),
    expiresOn: Type.String({
      minLength: 1,
      description: "ISO 8601 date-time at which the link stops working",
    }),
    api_url: Type.String({ minLength: 1, description: "Mailroom's base URL (informational)" }),
    name: Type.Optional(
      Type.String({ minLength: 1, description: "your identifier for the user, echoed to notify_url" }),
    ),
    notify_url: Type.Optional(HttpUrl),
    success_redirect_url: Type.Optional(HttpUrl),
    failure_redirect_url: Type.Optional(HttpUrl),
    bypass_success_screen: Type.Optional(Type.Boolean()),
    // Fields of the SDK's link body (HostedAuthCreateLinkBodySchema) that mean nothing for Microsoft
    // mailboxes: accepted and ignored, so SDK callers that send them are not refused.
    sync_limit: Type.Optional(Type.Unknown({ description: "accepted and ignored" })),
    disabled_features: Type.Optional(Type.Array(Type.String(), { description: "accepted and ignored" })),
  },
  { additionalProperties: false },
);

export function createLinkRoute(
  hosted: HostedAuthService,
  idempotency: IdempotencyService,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/hosted/accounts/link",
      {
        schema: {
          summary: "Create a hosted auth link",
          description:
            "Returns a URL of Mailroom's connect wizard. Send the end user there (full page, not an iframe); when the mailbox is connected Mailroom POSTs `{status, account_id, name}` to `notify_url` (signed with `X-Mailroom-Signature`) and shows a success page that continues to `success_redirect_url` (at once with `bypass_success_screen: true`); on failure it redirects to `failure_redirect_url?reason=…`. Mailroom extension: an `Idempotency-Key` header returns the first link again for a retry.",
          tags: ["Hosted auth"],
          body: CreateLinkBody,
          response: {
            200: Type.Object({ object: Type.Literal("HostedAuthUrl"), url: Type.String() }),
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            422: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if (b.type === "create" && b.providers === undefined) {
          throw new AppError("invalid_parameters", {
            detail: "body.providers: required when type is create",
          });
        }
        return answerOnce(idempotency, request, reply, b, async () => {
          const { url } = await hosted.createLink({
            type: b.type,
            providers: b.providers ?? "OUTLOOK",
            expiresOn: b.expiresOn,
            reconnectAccount: b.reconnect_account,
            name: b.name,
            notifyUrl: b.notify_url,
            successRedirectUrl: b.success_redirect_url,
            failureRedirectUrl: b.failure_redirect_url,
            bypassSuccessScreen: b.bypass_success_screen,
          });
          return { status: 200, body: { object: "HostedAuthUrl" as const, url } };
        });
      },
    );
  };
}
