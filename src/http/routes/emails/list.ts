// GET /api/v1/emails (reference unipile §2.1.1): newest first, keyset-paged with an opaque standard-base64
// cursor; `search` (Unipile's newer parameter) runs Graph's `$search` and pages by Graph's token.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { EmailListSchema, ListEmailsQuery } from "../../schemas/email.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { refuseUnknownQuery } from "../../unknown-query.ts";
import { sendEmailList } from "./serialized-email.ts";

export function listEmailsRoute(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/emails",
      {
        schema: {
          summary: "List emails",
          description:
            "Newest first; with `search`, ranked as Microsoft returns it (at most 1,000 results; docs/search.md). With `cursor`, the filters of the first request apply (they travel in the cursor). `meta_only` returns `1_meta` emails (empty bodies, no attachments); otherwise `2_full`. A parameter not listed here is a 400 naming it.",
          tags: ["Emails"],
          querystring: ListEmailsQuery,
          response: {
            200: EmailListSchema,
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
            422: ErrorSchema,
            429: ErrorSchema,
            500: ErrorSchema,
            503: ErrorSchema,
          },
        },
        preValidation: refuseUnknownQuery(Object.keys(ListEmailsQuery.properties)),
      },
      async (request, reply) => {
        return sendEmailList(reply, await email.list(request.query));
      },
    );
  };
}
