import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { Services } from "../../app/services.ts";

/** `/api/v1/*` requires `X-API-KEY`, except routes marked `config.public`. */
export function apiKeyAuth(services: Services): FastifyPluginAsync {
  return fp(async (app) => {
    // Callback style: a key this process verified moments ago passes without a promise.
    app.addHook("onRequest", (request, _reply, done) => {
      const path = request.url;
      if (!path.startsWith("/api/") && !path.startsWith("//api/")) return done();
      if (request.routeOptions.config?.public) return done();
      const header = request.headers["x-api-key"];
      const presented = Array.isArray(header) ? header[0] : header;
      if (services.apiKeys.isFreshlyVerified(presented)) return done();
      services.apiKeys.verify(presented).then(() => done(), done);
    });
  });
}
