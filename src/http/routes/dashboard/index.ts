// The operator dashboard: its JSON API under /dashboard/api (session cookie + CSRF header, separate
// from /api/v1 and its API keys) and the React app built into web/dist, served at /.
import type { FastifyPluginAsync } from "fastify";
import type { Services } from "../../../app/services.ts";
import { DASHBOARD_API, type SandboxInfo } from "../../../contracts/dashboard/index.ts";
import type { AdminService } from "../../../domain/admins/admin.service.ts";
import { AppError } from "../../../lib/errors.ts";
import { accountsRoutes } from "./accounts.ts";
import { apiKeysRoutes } from "./api-keys.ts";
import { authRoutes } from "./auth.ts";
import { scheduledRoutes } from "./scheduled.ts";
import { checkCsrf, loadSession } from "./session.ts";
import { settingsRoutes } from "./settings.ts";
import { spaRoutes } from "./spa.ts";
import { trackingRoutes } from "./tracking.ts";
import { webhooksRoutes } from "./webhooks.ts";

export interface DashboardOptions {
  /** The Microsoft sandbox, when it runs: its URL and test users, shown to signed-in admins. */
  sandbox?: SandboxInfo | undefined;
  /** For the publisher-file self-check (tests inject theirs). */
  fetch?: typeof fetch;
  /** Where the built React app lives (default: web/dist of this checkout). */
  webDist?: string;
}

export interface DashboardDeps extends DashboardOptions {
  services: Services;
  admins: AdminService;
}

export function dashboardRoutes(services: Services, options: DashboardOptions = {}): FastifyPluginAsync {
  const deps: DashboardDeps = {
    ...options,
    services,
    admins: services.admins,
  };
  return async (app) => {
    await app.register(
      async (api) => {
        api.addHook("onRequest", async (request, reply) => {
          reply.header("cache-control", "no-store");
          const context = request.routeOptions.config?.public
            ? undefined
            : await loadSession(request, deps.admins);
          if (!request.routeOptions.config?.public && !context)
            throw new AppError("missing_credentials", {
              detail: "You are signed out (or your session expired). Sign in to continue.",
            });
          checkCsrf(request, services.config.publicUrl, context);
        });
        await api.register(authRoutes(deps));
        await api.register(settingsRoutes(deps));
        await api.register(accountsRoutes(deps));
        await api.register(scheduledRoutes(deps));
        await api.register(apiKeysRoutes(deps));
        await api.register(webhooksRoutes(deps));
        await api.register(trackingRoutes(deps));
      },
      { prefix: DASHBOARD_API },
    );
    await app.register(spaRoutes(options.webDist));
  };
}
