// GET /api/v1/emails/{id}/attachments/{attachment_id}: the bytes, with the attachment's own content
// type (Unipile's SDK returns a Blob only for a non-JSON response, reference §1.3).
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
        const file = await email.attachment(
          request.params.id,
          request.params.attachment_id,
          request.query.account_id,
        );
        const type = /json/i.test(file.contentType) ? "application/octet-stream" : file.contentType;
        return reply
          .type(type)
          .header("content-disposition", `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`)
          .send(file.bytes);
      },
    );
  };
}
