// GET / DELETE /api/v1/accounts/{id}, and Unipile's native Outlook connect and reconnect with tokens.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { Services } from "../../../app/services.ts";
import { AppError } from "../../../lib/errors.ts";
import { AccountSchema } from "../../schemas/account.schema.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";
import { refuseOtherProviders } from "./checkpoint.ts";

const Params = Type.Object({ id: Type.String({ minLength: 1 }) });

const TokensBody = Type.Object(
  {
    provider: Type.Literal("OUTLOOK", { description: "Only Microsoft accounts are served" }),
    access_token: Type.String({ minLength: 1 }),
    refresh_token: Type.String({
      minLength: 1,
      description: "Issued to this installation's Azure app with offline_access",
    }),
    username: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    // The SDK's reconnect sends its whole input, the path's account_id included; its connect body
    // (AccountCreateOutlookBodySchema) may carry sync_limit and disabled_features. Accepted, ignored.
    account_id: Type.Optional(Type.String()),
    sync_limit: Type.Optional(Type.Unknown({ description: "accepted and ignored" })),
    disabled_features: Type.Optional(Type.Array(Type.String(), { description: "accepted and ignored" })),
  },
  { additionalProperties: false },
);

const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema };
const connectErrors = { ...errors, 501: ErrorSchema };

export function accountRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api/v1/accounts/:id",
      {
        schema: {
          summary: "Get an account",
          tags: ["Accounts"],
          params: Params,
          response: { 200: AccountSchema, ...errors },
        },
      },
      async (request) => services.accounts.get(request.params.id),
    );

    app.delete(
      "/api/v1/accounts/:id",
      {
        schema: {
          summary: "Delete an account",
          description: "Removes the account and destroys its stored tokens.",
          tags: ["Accounts"],
          params: Params,
          response: { 200: Type.Object({ object: Type.Literal("AccountDeleted") }), ...errors },
        },
      },
      async (request) => {
        const row = await services.accounts.delete(request.params.id, "api");
        if (!row)
          throw new AppError("resource_not_found", { detail: `Account ${request.params.id} not found` });
        return { object: "AccountDeleted" as const };
      },
    );

    app.post(
      "/api/v1/accounts",
      {
        schema: {
          summary: "Connect an Outlook account with existing tokens",
          description:
            "Native connect: `access_token` and `refresh_token` must have been issued to this installation's Azure app. Mailroom redeems the refresh token to prove it works before accepting the account; connecting a mailbox that is already an account returns that account.",
          tags: ["Accounts"],
          body: TokensBody,
          response: {
            201: Type.Object({ object: Type.Literal("AccountCreated"), account_id: Type.String() }),
            ...connectErrors,
          },
        },
        preValidation: refuseOtherProviders,
      },
      async (request, reply) => {
        const { account } = await services.nativeConnect.connect({
          accessToken: request.body.access_token,
          refreshToken: request.body.refresh_token,
          username: request.body.username,
        });
        return reply.code(201).send({ object: "AccountCreated" as const, account_id: account.id });
      },
    );

    app.post(
      "/api/v1/accounts/:id",
      {
        schema: {
          summary: "Reconnect an Outlook account with new tokens",
          tags: ["Accounts"],
          params: Params,
          body: TokensBody,
          response: {
            201: Type.Object({ object: Type.Literal("AccountReconnected"), account_id: Type.String() }),
            ...connectErrors,
          },
        },
        preValidation: refuseOtherProviders,
      },
      async (request, reply) => {
        const { account } = await services.nativeConnect.connect(
          {
            accessToken: request.body.access_token,
            refreshToken: request.body.refresh_token,
            username: request.body.username,
          },
          request.params.id,
        );
        return reply.code(201).send({ object: "AccountReconnected" as const, account_id: account.id });
      },
    );
  };
}
