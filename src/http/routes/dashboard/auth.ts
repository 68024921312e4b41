// Session, first-run setup, sign-in/out and admin invitations.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { DASHBOARD_ENDPOINTS as API } from "../../../contracts/dashboard/index.ts";
import { routeOf } from "./endpoint.ts";
import type { DashboardDeps } from "./index.ts";
import { clearSessionCookie, loadSession, sessionOf, setSessionCookie } from "./session.ts";

export function authRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { admins } = deps;
  const publicUrl = deps.services.config.publicUrl;
  return async (app) => {
    app.route({
      ...routeOf(API["GET /session"], { public: true }),
      handler: async (request) => {
        const context = await loadSession(request, admins);
        return {
          admin: context?.admin ?? null,
          csrfToken: context?.csrfToken ?? null,
          setupRequired: !(await admins.hasAdmin()),
          publicUrl,
          sandbox: context && deps.sandbox ? deps.sandbox : null,
          polling: context ? await pollingInfo(deps) : null,
        };
      },
    });

    app.route({
      ...routeOf(API["GET /setup-link"], { public: true }),
      handler: async (request) => admins.inspectLink(request.query.token),
    });

    app.route({
      ...routeOf(API["POST /setup"], { public: true }),
      handler: async (request, reply) => {
        const { admin, sessionToken } = await admins.acceptLink(request.body.token, request.body);
        deps.services.log.info({ adminId: admin.id }, "Dashboard admin created");
        setSessionCookie(reply, request, publicUrl, sessionToken);
        return { admin };
      },
    });

    app.route({
      ...routeOf(API["POST /sign-in"], { public: true }),
      handler: async (request, reply) => {
        const { admin, sessionToken } = await admins.signIn(request.body, request.ip);
        setSessionCookie(reply, request, publicUrl, sessionToken);
        return { admin };
      },
    });

    app.route({
      ...routeOf(API["POST /sign-out"], { public: true }),
      handler: async (request, reply) => {
        const context = await loadSession(request, admins);
        if (context) await admins.signOut(context.session.id);
        clearSessionCookie(reply, request, publicUrl);
        return { signedOut: true as const };
      },
    });

    app.route({
      ...routeOf(API["GET /admins"]),
      handler: async () => ({ admins: await admins.list(), invites: await admins.pendingInvites() }),
    });

    app.route({
      ...routeOf(API["POST /admins/invites"]),
      handler: async (request) => {
        const email = request.body.email?.trim() ? request.body.email : undefined;
        const link = await admins.createLink({ email, createdBy: sessionOf(request).admin.id });
        return { url: link.url, expiresAt: link.expiresAt };
      },
    });
  };
}

/** The polling health for the dashboard's status line (one aggregate query). */
async function pollingInfo(deps: DashboardDeps) {
  const status = await deps.services.realtime.pollingStatus().catch(() => null);
  if (!status) return null;
  return {
    stretch: status.stretch,
    intervalSeconds: status.intervalMs / 1000,
    effectiveIntervalSeconds: status.effectiveIntervalMs / 1000,
    lagP99Seconds: Math.round(status.lagP99Ms / 1000),
    lagMaxSeconds: Math.round(status.lagMaxMs / 1000),
    polledAccounts: status.accounts,
  };
}
