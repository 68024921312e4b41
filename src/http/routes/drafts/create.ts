// POST /api/v1/drafts (reference unipile §2.1.9): the same fields as send; the draft stays in
// Drafts → 200 {"object":"DraftCreated","draft_id"} (the SPEC's status). `draft_id` is an email id,
// so the draft can be read, updated, and sent with `POST /api/v1/emails` + `draft_id`.
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { MAX_MESSAGE_BYTES } from "../../../domain/email/send.service.ts";
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
            "Same fields as sending (JSON or multipart). `reply_to` makes it a reply draft in that thread. Mailroom extension: `Idempotency-Key` as on POST /api/v1/emails.",
          tags: ["Drafts"],
          consumes: ["application/json", "multipart/form-data"],
          response: { 200: DraftCreatedSchema, ...sendErrors },
        },
      },
      async (request, reply) =>
        withSendRequest(request, reply, send.maxMessageBytes, async (input) =>
          answerOnce(
            idempotency,
            request,
            reply,
            await sendRequestFingerprintBody(request, input),
            async () => ({
              status: 200,
              body: await send.createDraft(input),
            }),
          ),
        ),
    );
  };
}
