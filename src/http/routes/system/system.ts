import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Services } from "../../../app/services.ts";
import { JSON_CONTENT_TYPE } from "../../error-handler.ts";

/** Liveness, readiness and Prometheus metrics; no API key (operators' probes call them). */
export function systemRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get("/health", { config: { public: true } }, async (_request, reply) =>
      reply.type(JSON_CONTENT_TYPE).send({ status: "ok" }),
    );

    // Ready when every shared dependency answers: the database, and in scaled mode Redis (jobs and
    // limits live there). A load balancer stops sending traffic to a process that is not ready; it
    // becomes ready again on its own when the dependency is back.
    app.get("/ready", { config: { public: true } }, async (_request, reply) => {
      const [database, redis] = await Promise.all([
        probe(() => services.storage.ping()),
        services.redis ? probe(() => services.redis!.ping()) : Promise.resolve(undefined),
      ]);
      const ready = database === "ok" && (redis === undefined || redis === "ok");
      services.metrics.ready.set(ready ? 1 : 0);
      const body = { status: ready ? "ready" : "unavailable", database, ...(redis ? { redis } : {}) };
      if (ready) return reply.type(JSON_CONTENT_TYPE).send(body);
      return reply.code(503).type(JSON_CONTENT_TYPE).header("Retry-After", "5").send(body);
    });

    // Browsers ask every origin for an icon; answer with Mailroom's rather than a 404.
    app.get("/favicon.ico", { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type("image/svg+xml")
        .header("cache-control", "public, max-age=86400")
        .send(
          '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2563eb"/><path d="M7 11h18v11H7z" fill="none" stroke="#fff" stroke-width="2"/><path d="M7 11l9 7 9-7" fill="none" stroke="#fff" stroke-width="2"/></svg>',
        ),
    );

    app.get("/metrics", { config: { public: true } }, async (_request, reply) => {
      // Settings live in the database (shared by every process): read them at scrape time.
      const settings = await services.microsoftSettings.get().catch(() => null);
      if (settings?.secretExpiresAt) {
        services.metrics.secretExpiryDays.set(
          Math.floor((settings.secretExpiresAt - services.clock.now()) / 86_400_000),
        );
      } else {
        services.metrics.secretExpiryDays.reset();
      }
      services.metrics.appProblem.set(settings?.appProblem ? 1 : 0);
      // One aggregate query over the realtime accounts (the lag is read at scrape time).
      const polling = await services.realtime.pollingStatus().catch(() => null);
      if (polling) {
        services.metrics.pollingLag.set({ stat: "p99" }, polling.lagP99Ms / 1000);
        services.metrics.pollingLag.set({ stat: "max" }, polling.lagMaxMs / 1000);
        services.metrics.pollingStretch.set(polling.stretch);
      }
      return reply
        .type(services.metrics.registry.contentType)
        .send(await services.metrics.registry.metrics());
    });
  };
}

/** "ok", or why the dependency did not answer. */
async function probe(check: () => Promise<void>): Promise<string> {
  try {
    await check();
    return "ok";
  } catch (error) {
    return (error as Error).message || "unavailable";
  }
}
