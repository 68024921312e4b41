// API keys for /api/v1: create (shown once), list with last use, revoke.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DASHBOARD_ENDPOINTS as API } from "../../../contracts/dashboard/index.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";

export function apiKeysRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { services } = deps;
  return async (app) => {
    app.route({
      ...routeOf(API["GET /api-keys"]),
      handler: async () => ({ keys: await services.apiKeys.list() }),
    });

    app.route({
      ...routeOf(API["POST /api-keys"]),
      handler: async (request, reply) => {
        const created = await services.apiKeys.create(request.body.name);
        services.log.info({ apiKeyId: created.summary.id }, "API key created from the dashboard");
        reply.code(201);
        return created;
      },
    });

    app.route({
      ...routeOf(API["DELETE /api-keys/:id"]),
      handler: async (request) => {
        const summary = await services.apiKeys.revoke(request.params.id);
        services.log.info({ apiKeyId: summary.id }, "API key revoked from the dashboard");
        return { revoked: summary };
      },
    });
  };
}
