// GET /api/v1/emails/{id}/raw (a Mailroom extension, docs/raw-message.md): the message as sent, RFC 822
// (`message/rfc822`), piped from Graph's `$value` as it arrives. A client that goes away cancels the
// upstream request, which frees the mailbox's limiter slot.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { AccountIdQuery, EmailIdParams } from "../../schemas/email.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function rawEmailRoute(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/emails/:id/raw",
      {
        schema: {
          summary: "Download an email as RFC 822 (MIME)",
          description:
            "Mailroom extension. The message as Microsoft keeps it in MIME form (`message/rfc822`, an .eml file), for received and sent mail; streamed, so any size works. A message deleted meanwhile is a 404.",
          tags: ["Emails"],
          params: EmailIdParams,
          querystring: AccountIdQuery,
          response: {
            200: { description: "The message, RFC 822", content: { "message/rfc822": { schema: {} } } },
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
            429: ErrorSchema,
            503: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const cancel = new AbortController();
        // The response closing before it finished (the client went away) cancels Graph's answer.
        reply.raw.once("close", () => {
          if (!reply.raw.writableFinished) cancel.abort(new Error("client closed the connection"));
        });
        const raw = await email.raw(request.params.id, request.query.account_id, cancel.signal);
        reply.type("message/rfc822");
        if (raw.contentLength !== undefined) reply.header("content-length", raw.contentLength);
        return reply.send(raw.body);
      },
    );
  };
}
