// API keys for /api/v1: create (shown once), list with last use, revoke.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type { ApiKeysResponse, CreateApiKeyResponse } from "../../../../web/src/api-types.ts";
import type { DashboardDeps } from "./index.ts";

export function apiKeysRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { services } = deps;
  return async (app) => {
    app.get("/api-keys", async (): Promise<ApiKeysResponse> => ({ keys: await services.apiKeys.list() }));

    app.post(
      "/api-keys",
      { schema: { body: Type.Object({ name: Type.String({ maxLength: 200 }) }) } },
      async (request, reply): Promise<CreateApiKeyResponse> => {
        const created = await services.apiKeys.create(request.body.name);
        services.log.info({ apiKeyId: created.summary.id }, "API key created from the dashboard");
        reply.code(201);
        return created;
      },
    );

    app.delete(
      "/api-keys/:id",
      { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) } },
      async (request) => {
        const summary = await services.apiKeys.revoke(request.params.id);
        services.log.info({ apiKeyId: summary.id }, "API key revoked from the dashboard");
        return { revoked: summary };
      },
    );
  };
}
