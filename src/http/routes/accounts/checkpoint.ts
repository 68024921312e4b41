// Unipile's checkpoint endpoints and the providers Mailroom does not connect. A checkpoint (2FA, OTP,
// captcha…) is a step of Unipile's own sign-in to LinkedIn and messaging apps; a Microsoft account
// signs in on Microsoft's page (hosted wizard) or arrives with tokens, so it never has one.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { AppError } from "../../../lib/errors.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

/** Providers Unipile's POST /api/v1/accounts takes (its OpenAPI) that Mailroom does not connect. */
const OTHER_PROVIDERS = new Set([
  "GOOGLE_OAUTH",
  "GOOGLE",
  "INSTAGRAM",
  "LINKEDIN",
  "MAIL",
  "MESSENGER",
  "TELEGRAM",
  "TWITTER",
  "WHATSAPP",
  "ICLOUD",
  "EXCHANGE",
]);

/**
 * A connect or reconnect for another of Unipile's providers is a feature Mailroom lacks (501), not a
 * malformed request: checked before the body is validated against the Outlook token schema.
 */
export async function refuseOtherProviders(request: FastifyRequest): Promise<void> {
  const provider = (request.body as { provider?: unknown } | undefined)?.provider;
  if (typeof provider === "string" && OTHER_PROVIDERS.has(provider))
    throw new AppError("feature_not_implemented", {
      detail: `provider: Mailroom connects Microsoft accounts only ("OUTLOOK"); ${provider} is not available`,
    });
}

const CheckpointBody = Type.Object(
  {
    account_id: Type.String({ minLength: 1 }),
    code: Type.String({ minLength: 1 }),
    provider: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

function noCheckpoint(provider: string): AppError {
  if (OTHER_PROVIDERS.has(provider))
    return new AppError("feature_not_implemented", {
      detail: `provider: Mailroom connects Microsoft accounts only; ${provider} checkpoints are not available`,
    });
  return new AppError("invalid_parameters", {
    detail:
      "Microsoft accounts have no checkpoints: Mailroom never answers a connect with a Checkpoint, so there is no code to solve. Sign the mailbox in through a hosted auth link (type reconnect) instead.",
  });
}

export function checkpointRoutes(): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/accounts/checkpoint",
      {
        schema: {
          summary: "Solve a checkpoint (none for Microsoft accounts)",
          description:
            "Unipile's checkpoints belong to LinkedIn and messaging sign-ins. Microsoft accounts never have one: `400 errors/invalid_parameters` saying so; another of Unipile's providers is `501 errors/feature_not_implemented`.",
          tags: ["Accounts"],
          body: CheckpointBody,
          response: { 400: ErrorSchema, 401: ErrorSchema, 501: ErrorSchema },
        },
      },
      async (request) => {
        throw noCheckpoint(request.body.provider);
      },
    );
    app.post(
      "/api/v1/accounts/checkpoint/resend",
      {
        schema: {
          summary: "Resend a checkpoint notification (none for Microsoft accounts)",
          tags: ["Accounts"],
          body: Type.Object(
            { account_id: Type.String({ minLength: 1 }), provider: Type.String({ minLength: 1 }) },
            { additionalProperties: false },
          ),
          response: { 400: ErrorSchema, 401: ErrorSchema, 501: ErrorSchema },
        },
      },
      async (request) => {
        throw noCheckpoint(request.body.provider);
      },
    );
  };
}
