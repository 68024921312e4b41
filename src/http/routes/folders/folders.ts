// GET /api/v1/folders and /api/v1/folders/{id} (reference unipile §2.1.6): not paginated.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { AccountIdQuery, FolderListSchema, FolderSchema } from "../../schemas/email.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export function folderRoutes(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/folders",
      {
        schema: {
          summary: "List an account's folders",
          tags: ["Folders"],
          querystring: Type.Object({ account_id: Type.String({ minLength: 1 }) }),
          response: { 200: FolderListSchema, ...errors },
        },
      },
      async (request) => email.listFolders(request.query.account_id),
    );
    app.get(
      "/api/v1/folders/:id",
      {
        schema: {
          summary: "Get a folder",
          description: "`id` is a Mailroom folder id, or a provider id with `?account_id=`.",
          tags: ["Folders"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          querystring: AccountIdQuery,
          response: { 200: FolderSchema, ...errors },
        },
      },
      async (request) => email.getFolder(request.params.id, request.query.account_id),
    );
  };
}
