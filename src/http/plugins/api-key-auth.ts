import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Services } from "../../app/services.ts";

/** `/api/v1/*` requires `X-API-KEY`, except routes marked `config.public`. */
export function apiKeyAuth(services: Services): FastifyPluginAsync {
  return fp(async (app) => {
    app.addHook("onRequest", async (request) => {
      const path = request.url;
      if (!path.startsWith("/api/") && !path.startsWith("//api/")) return;
      if (request.routeOptions.config?.public) return;
      const header = request.headers["x-api-key"];
      await services.apiKeys.verify(Array.isArray(header) ? header[0] : header);
    });
  });
}
