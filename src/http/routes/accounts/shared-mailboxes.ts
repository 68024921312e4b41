// POST /api/v1/accounts/{account_id}/shared_mailboxes (Mailroom extension; docs/shared-mailboxes.md):
// opens a shared mailbox through the connected user of `account_id` as an account of its own.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Services } from "../../../app/services.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

const Created = Type.Object({ object: Type.Literal("AccountCreated"), account_id: Type.String() });

export function sharedMailboxRoute(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/accounts/:account_id/shared_mailboxes",
      {
        schema: {
          summary: "Open a shared mailbox through a connected user",
          description:
            "Mailroom extension. Checks through Microsoft Graph that the user of `account_id` can open the shared mailbox `email` (FullAccess in Exchange, and the delegated permission Mail.ReadWrite.Shared, asked for at sign-in once shared mailboxes are on in the settings), then answers 201 with the new account: an ordinary account for the email, folder, draft and webhook routes, whose token is that user's. The same mailbox again answers 200 with the account it already has. 403 `errors/insufficient_permissions` says whether the grant or the scope is missing; 404 when Microsoft knows no such mailbox.",
          tags: ["Accounts"],
          params: Type.Object({ account_id: Type.String({ minLength: 1, maxLength: 2048 }) }),
          body: Type.Object(
            {
              email: Type.String({
                minLength: 3,
                maxLength: 320,
                description: "The shared mailbox's address",
              }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Created,
            201: Created,
            400: ErrorSchema,
            401: ErrorSchema,
            403: ErrorSchema,
            404: ErrorSchema,
            503: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const opened = await services.accounts.openShared(request.params.account_id, request.body.email);
        reply.code(opened.created ? 201 : 200);
        return { object: "AccountCreated", account_id: opened.accountId } as const;
      },
    );
  };
}
