// POST /api/v1/accounts/{id}/restart (Unipile's OpenAPI; not in the SDK): sets the account's change
// detection up again and catches up on mail.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { RealtimeService } from "../../../domain/realtime/realtime.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { ErrorSchema } from "../../schemas/error.schema.ts";

export function restartAccountRoute(realtime: RealtimeService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/api/v1/accounts/:id/restart",
      {
        schema: {
          summary: "Restart an account",
          description:
            "Sets up the account's Graph subscription (or its polling) again and queues a sync that catches up on mail. `AccountFailedToRestart` when the mailbox must sign in again (`sources[0].status` is not `OK`) or the work cannot be queued.",
          tags: ["Accounts"],
          params: Type.Object({ id: Type.String({ minLength: 1 }) }),
          response: {
            200: Type.Object({
              object: Type.Union([Type.Literal("AccountRestarted"), Type.Literal("AccountFailedToRestart")]),
            }),
            400: ErrorSchema,
            401: ErrorSchema,
            404: ErrorSchema,
          },
        },
      },
      async (request) => {
        const outcome = await realtime.restart(request.params.id);
        if (outcome === "not_found")
          throw new AppError("resource_not_found", { detail: `Account ${request.params.id} not found` });
        return { object: outcome === "restarted" ? "AccountRestarted" : "AccountFailedToRestart" } as const;
      },
    );
  };
}
