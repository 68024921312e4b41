// GET /api/v1/emails/{id}/attachments/{attachment_id}: the bytes, with the attachment's own content
// type (Unipile's SDK returns a Blob only for a non-JSON response, reference §1.3), streamed from
// Graph's `…/$value` as it arrives: never held whole (ADR 0012).
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { AccountIdQuery, AttachmentParams } from "../../schemas/email.schema.ts";

export function attachmentRoute(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/emails/:id/attachments/:attachment_id",
      {
        schema: {
          summary: "Download an attachment",
          tags: ["Emails"],
          params: AttachmentParams,
          querystring: AccountIdQuery,
        },
      },
      async (request, reply) => {
        // The client going away cancels Graph's download (before its headers; after them, Fastify
        // destroys the body stream, which closes the upstream request).
        const gone = new AbortController();
        const onClose = () => gone.abort(new Error("client closed the connection"));
        reply.raw.once("close", onClose);
        const file = await email.attachment(
          request.params.id,
          request.params.attachment_id,
          request.query.account_id,
          gone.signal,
        );
        file.body.once("close", () => reply.raw.off("close", onClose));
        const type = /json/i.test(file.contentType) ? "application/octet-stream" : file.contentType;
        reply
          .type(type)
          .header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`);
        if (file.size !== undefined) reply.header("content-length", file.size);
        return reply.send(file.body);
      },
    );
  };
}
