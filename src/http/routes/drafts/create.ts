// POST /api/v1/drafts (reference unipile §2.1.9): the same fields as send; the draft stays in
// Drafts → 200 {"object":"DraftCreated","draft_id"} (the SPEC's status). `draft_id` is an email id,
// so the draft can be read, updated, and sent with `POST /api/v1/emails` + `draft_id`. `send_at` (a
// Mailroom extension of sends) is refused by name: a draft is never sent by itself, and DraftCreated
// has no place for a schedule; scheduling that draft is `POST /api/v1/emails` with `draft_id` and
// `send_at`.
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { MAX_MESSAGE_BYTES } from "../../../domain/email/send.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { answerOnce, sendRequestFingerprintBody } from "../../idempotency.ts";
import { MULTIPART_LIMITS, withSendRequest } from "../../multipart-send.ts";
import { type SendRouteServices, sendErrors } from "../emails/send.ts";

export const DraftCreatedSchema = Type.Object({
  object: Type.Literal("DraftCreated"),
  draft_id: Type.String({ minLength: 1 }),
});

export function createDraftRoute({ send, idempotency }: SendRouteServices): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart, { limits: MULTIPART_LIMITS });
    app.post(
      "/api/v1/drafts",
      {
        bodyLimit: MAX_MESSAGE_BYTES + 16 * 1024 * 1024,
        schema: {
          summary: "Create a draft",
          description:
            "Same fields as sending (JSON or multipart), but `send_at`: a draft is not sent by itself, so `send_at` here is 400 errors/invalid_parameters naming it; to send a draft later, POST /api/v1/emails with its `draft_id` and `send_at`. `reply_to` makes it a reply draft in that thread. Mailroom extension: `Idempotency-Key` as on POST /api/v1/emails.",
          tags: ["Drafts"],
          consumes: ["application/json", "multipart/form-data"],
          response: { 200: DraftCreatedSchema, ...sendErrors },
        },
      },
      async (request, reply) =>
        withSendRequest(request, reply, send.maxMessageBytes, async (input) => {
          if (input.send_at !== undefined) throw sendAtOnDraft();
          return answerOnce(
            idempotency,
            request,
            reply,
            await sendRequestFingerprintBody(request, input),
            async () => ({
              status: 200,
              body: await send.createDraft(input),
            }),
          );
        }),
    );
  };
}

function sendAtOnDraft(): AppError {
  return new AppError("invalid_parameters", {
    detail:
      "send_at: not taken by POST /api/v1/drafts (a draft is not sent by itself); to send a draft at a given time, POST /api/v1/emails with its draft_id and send_at",
  });
}
