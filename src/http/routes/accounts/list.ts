import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Services } from "../../../app/services.ts";
import { AccountListSchema } from "../../schemas/account.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function listAccountsRoute(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/accounts",
      {
        schema: {
          summary: "List connected accounts",
          tags: ["Accounts"],
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 250, default: 100 })),
            cursor: Type.Optional(Type.String({ minLength: 1 })),
          }),
          response: { 200: AccountListSchema, 400: ErrorSchema, 401: ErrorSchema },
        },
      },
      async (request) =>
        services.accounts.list({ limit: request.query.limit ?? 100, cursor: request.query.cursor }),
    );
  };
}
