import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Services } from "../../../app/services.ts";
import { JSON_CONTENT_TYPE } from "../../error-handler.ts";

/** Liveness, readiness and Prometheus metrics; no API key (operators' probes call them). */
export function systemRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get("/health", { config: { public: true } }, async (_request, reply) =>
      reply.type(JSON_CONTENT_TYPE).send({ status: "ok" }),
    );

    app.get("/ready", { config: { public: true } }, async (_request, reply) => {
      try {
        await services.storage.ping();
        services.metrics.ready.set(1);
        return reply.type(JSON_CONTENT_TYPE).send({ status: "ready", database: "ok" });
      } catch (error) {
        services.metrics.ready.set(0);
        return reply
          .code(503)
          .type(JSON_CONTENT_TYPE)
          .header("Retry-After", "5")
          .send({ status: "unavailable", database: (error as Error).message });
      }
    });

    app.get("/metrics", { config: { public: true } }, async (_request, reply) =>
      reply.type(services.metrics.registry.contentType).send(await services.metrics.registry.metrics()),
    );
  };
}
