// GET /api/v1/folders and /api/v1/folders/{id} (reference unipile §2.1.6): not paginated.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { FOLDER_PAGE_ACCOUNTS } from "../../../domain/email/all-folders.ts";
import type { EmailService } from "../../../domain/email/email.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { AccountIdQuery, FolderListSchema, FolderSchema } from "../../schemas/email.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

export function folderRoutes(email: EmailService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/folders",
      {
        schema: {
          summary: "List an account's folders, or every account's",
          description: `With \`account_id\`, that account's folders (not paged, as Unipile). Without it, the folders of every account, ${FOLDER_PAGE_ACCOUNTS.default} accounts a page (\`limit\` accounts, up to ${FOLDER_PAGE_ACCOUNTS.max}); \`cursor\` is null after the last account. Accounts that need reconnecting are left out.`,
          tags: ["Folders"],
          querystring: Type.Object({
            account_id: Type.Optional(Type.String({ minLength: 1 })),
            limit: Type.Optional(
              Type.Integer({ minimum: 1, maximum: FOLDER_PAGE_ACCOUNTS.max, description: "accounts a page" }),
            ),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          }),
          response: { 200: FolderListSchema, ...errors },
        },
      },
      async (request) => {
        const { account_id, limit, cursor } = request.query;
        if (account_id === undefined) return email.listAllFolders({ limit, cursor });
        if (limit !== undefined || cursor !== undefined)
          throw new AppError("invalid_parameters", {
            detail:
              "limit, cursor: they page accounts, so they go without account_id (an account's folders are one page)",
          });
        return email.listFolders(account_id);
      },
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
