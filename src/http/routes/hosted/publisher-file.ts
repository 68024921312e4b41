import type { FastifyPluginAsync } from "fastify";
import type { MicrosoftSettingsService } from "../../../domain/settings/microsoft-settings.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { sendError } from "../../error-handler.ts";

/**
 * Publisher domain verification: Microsoft fetches this exact file over https, with no redirect and
 * no authentication, and compares the application id with the app registration.
 */
export function publisherFileRoute(settings: MicrosoftSettingsService): FastifyPluginAsync {
  return async (app) => {
    app.get(
      "/.well-known/microsoft-identity-association.json",
      { config: { public: true } },
      async (_request, reply) => {
        const current = await settings.get();
        if (!current) {
          return sendError(
            reply,
            new AppError("resource_not_found", {
              detail: "No Microsoft application is configured yet (Settings → Microsoft OAuth).",
            }),
          );
        }
        return reply
          .type("application/json")
          .send(JSON.stringify({ associatedApplications: [{ applicationId: current.clientId }] }));
      },
    );
  };
}
