// Scheduled emails, a Mailroom extension (docs/adr/0011-send-once-and-scheduled.md): POST
// /api/v1/emails with `send_at` answers EmailScheduled (send.ts); these routes list, read and cancel
// them. Static segments win over `/api/v1/emails/:id` in Fastify's router, so `scheduled` is never
// taken for an email id.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ScheduledSendService } from "../../../domain/scheduled/scheduled-send.service.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export const EmailScheduledSchema = Type.Object({
  object: Type.Literal("EmailScheduled"),
  schedule_id: Type.String({ minLength: 1 }),
  tracking_id: Type.String({ minLength: 1 }),
  send_at: Type.String({ format: "date-time" }),
});

const ScheduledEmailSchema = Type.Object({
  object: Type.Literal("ScheduledEmail"),
  schedule_id: Type.String(),
  account_id: Type.String(),
  send_at: Type.String({ format: "date-time" }),
  status: Type.Union([
    Type.Literal("scheduled"),
    Type.Literal("sending"),
    Type.Literal("sent"),
    Type.Literal("failed"),
    Type.Literal("cancelled"),
  ]),
  subject: Type.Union([Type.String(), Type.Null()]),
  to_attendees: Type.Array(
    Type.Object({ identifier: Type.String(), display_name: Type.Optional(Type.String()) }),
  ),
  tracking_id: Type.String(),
  error: Type.Optional(
    Type.String({ description: "why it failed, or what the last attempt met while it is retried" }),
  ),
  waiting_reason: Type.Optional(
    Type.String({
      description: "`account_needs_reauth`: the send is due and waits until the account is reconnected",
    }),
  ),
  sent_at: Type.Optional(Type.String({ format: "date-time" })),
});

const ScheduleParams = Type.Object({ schedule_id: Type.String({ minLength: 1, maxLength: 64 }) });
const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

export function scheduledEmailRoutes(scheduled: ScheduledSendService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/emails/scheduled",
      {
        schema: {
          summary: "List scheduled emails",
          description:
            "Mailroom extension: emails sent with `send_at`, by `send_at`, with their status (`scheduled`, `sending`, `sent`, `failed`, `cancelled`).",
          tags: ["Emails"],
          querystring: Type.Object({
            account_id: Type.Optional(Type.String({ minLength: 1 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 100 })),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          }),
          response: {
            200: Type.Object({
              object: Type.Literal("ScheduledEmailList"),
              items: Type.Array(ScheduledEmailSchema),
              cursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...errors,
          },
        },
      },
      async (request) => scheduled.list(request.query),
    );
    app.get(
      "/api/v1/emails/scheduled/:schedule_id",
      {
        schema: {
          summary: "Get a scheduled email",
          description: "Mailroom extension.",
          tags: ["Emails"],
          params: ScheduleParams,
          response: { 200: ScheduledEmailSchema, ...errors },
        },
      },
      async (request) => scheduled.get(request.params.schedule_id),
    );
    app.delete(
      "/api/v1/emails/scheduled/:schedule_id",
      {
        schema: {
          summary: "Cancel a scheduled email",
          description:
            "Mailroom extension: cancels an email not yet being sent and deletes its draft; 409 `errors/operation_canceled` once it is sending, sent, failed or cancelled.",
          tags: ["Emails"],
          params: ScheduleParams,
          response: { 200: ScheduledEmailSchema, ...errors, 409: ErrorSchema },
        },
      },
      async (request) => scheduled.cancel(request.params.schedule_id),
    );
  };
}
