// POST /api/v1/emails (reference unipile §2.1.8): multipart as the SDK sends it (JSON-string
// recipient fields, repeated `attachments` file parts) or JSON → 201 EmailSent with real ids.
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { MAX_MESSAGE_BYTES, type SendService } from "../../../domain/email/send.service.ts";
import type { IdempotencyService } from "../../../domain/idempotency/idempotency.service.ts";
import { type SendCheckpoint, sendOnce } from "../../../domain/idempotency/send-once.ts";
import type { ScheduledSendService } from "../../../domain/scheduled/scheduled-send.service.ts";
import { answerOnce, sendRequestFingerprintBody } from "../../idempotency.ts";
import { MULTIPART_LIMITS, withSendRequest } from "../../multipart-send.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { EmailScheduledSchema } from "./scheduled.ts";

export const EmailSentSchema = Type.Object({
  object: Type.Literal("EmailSent"),
  tracking_id: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  provider_id: Type.String({ minLength: 1 }),
  tracking: Type.Optional(
    Type.Object(
      {
        opens: Type.Boolean({ description: "A pixel was added" }),
        links: Type.Boolean({ description: "The body's http(s) links go through Mailroom" }),
        tracked_links: Type.Integer({ minimum: 0 }),
        reason: Type.Optional(
          Type.String({ description: "Why nothing is tracked: plain_text_body or not_requested" }),
        ),
      },
      { description: "Mailroom: what a send with tracking_options tracks" },
    ),
  ),
});

export const sendErrors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  404: ErrorSchema,
  409: ErrorSchema,
  415: ErrorSchema,
  422: ErrorSchema,
  429: ErrorSchema,
  500: ErrorSchema,
  503: ErrorSchema,
  504: ErrorSchema,
};

export interface SendRouteServices {
  send: SendService;
  idempotency: IdempotencyService;
  scheduled: ScheduledSendService;
}

export function sendEmailRoute({
  send,
  idempotency,
  scheduled,
}: SendRouteServices): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart, { limits: MULTIPART_LIMITS });
    app.post(
      "/api/v1/emails",
      {
        // JSON bodies (base64 attachments); multipart ones are counted while they stream (multipart-send.ts).
        bodyLimit: MAX_MESSAGE_BYTES + 16 * 1024 * 1024,
        schema: {
          summary: "Send an email",
          description:
            "multipart/form-data as Unipile's SDK sends it (`to`, `cc`, `bcc`, `from`, `custom_headers`, `tracking_options` as JSON strings; repeated `attachments` file parts), or the same fields as JSON. `reply_to` (an email id, or a provider id, JSON provider id or RFC 822 Message-ID of this account) sends a reply in that thread; `draft_id` takes the same forms. `custom_headers` takes any header but those the message is built from (From, To, Subject, Date, Message-ID, Content-Type…: 422 errors/invalid_headers): X- headers and Reply-To go through Graph's JSON message, others (List-Unsubscribe, List-Unsubscribe-Post) by creating the message from MIME. `tracking_options` (`{opens, links, label, custom_domain}`) adds an open pixel and rewrites http(s) links of an HTML body; a plain-text body is sent untracked, and `tracking` in the answer says what is tracked. Events go to webhooks of source `email_tracking`. Attachments up to 150 MB in total (MAX_MESSAGE_MB; upload sessions from 3 MB), streamed through without being held in memory. `id` and `provider_id` are the sent message's ids. Mailroom extension: an `Idempotency-Key` header (up to 255 characters) makes retries safe: within its lifetime the same key and body get the first answer again and send nothing; another body gets 422 `errors/unprocessable_entity`. Mailroom extension: `send_at` (ISO 8601, in the future, at most SCHEDULE_MAX_DAYS ahead) keeps the email as a draft in the mailbox and sends it then: 202 `EmailScheduled` (see GET /api/v1/emails/scheduled).",
          tags: ["Emails"],
          consumes: ["multipart/form-data", "application/json"],
          response: { 201: EmailSentSchema, 202: EmailScheduledSchema, ...sendErrors },
        },
      },
      async (request, reply) => {
        // The attachments live while the callback runs (multipart-send.ts); the key's fingerprint hashes
        // their bytes as they are read back.
        return withSendRequest(request, reply, send.maxMessageBytes, async (input) => {
          const body = await sendRequestFingerprintBody(request, input);
          if (input.send_at !== undefined)
            return answerOnce(idempotency, request, reply, body, async (run) => ({
              status: 202,
              body: await scheduled.schedule(input, run as Parameters<typeof scheduled.schedule>[1]),
            }));
          return answerOnce<SendCheckpoint>(idempotency, request, reply, body, async (run) => ({
            status: 201,
            body: await sendOnce(send, input, run),
          }));
        });
      },
    );
  };
}
