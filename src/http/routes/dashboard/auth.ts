// Session, first-run setup, sign-in/out and admin invitations.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import type {
  AdminsResponse,
  InviteResponse,
  SessionResponse,
  SetupLinkInfo,
} from "../../../../web/src/api-types.ts";
import type { DashboardDeps } from "./index.ts";
import { clearSessionCookie, loadSession, sessionOf, setSessionCookie } from "./session.ts";

const Credentials = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 320 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});

export function authRoutes(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const { admins } = deps;
  const publicUrl = deps.services.config.publicUrl;
  return async (app) => {
    app.get("/session", { config: { public: true } }, async (request): Promise<SessionResponse> => {
      const context = await loadSession(request, admins);
      return {
        admin: context?.admin ?? null,
        csrfToken: context?.csrfToken ?? null,
        setupRequired: !(await admins.hasAdmin()),
        publicUrl,
        sandbox: context && deps.sandbox ? deps.sandbox : null,
      };
    });

    app.get(
      "/setup-link",
      {
        config: { public: true },
        schema: { querystring: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }) },
      },
      async (request): Promise<SetupLinkInfo> => admins.inspectLink(request.query.token),
    );

    app.post(
      "/setup",
      {
        config: { public: true },
        schema: {
          body: Type.Object({
            token: Type.String({ minLength: 1, maxLength: 200 }),
            email: Type.String({ maxLength: 320 }),
            password: Type.String({ maxLength: 1024 }),
          }),
        },
      },
      async (request, reply) => {
        const { admin, sessionToken } = await admins.acceptLink(request.body.token, request.body);
        deps.services.log.info({ adminId: admin.id }, "Dashboard admin created");
        setSessionCookie(reply, request, publicUrl, sessionToken);
        return { admin };
      },
    );

    app.post(
      "/sign-in",
      { config: { public: true }, schema: { body: Credentials } },
      async (request, reply) => {
        const { admin, sessionToken } = await admins.signIn(request.body, request.ip);
        setSessionCookie(reply, request, publicUrl, sessionToken);
        return { admin };
      },
    );

    app.post("/sign-out", { config: { public: true } }, async (request, reply) => {
      const context = await loadSession(request, admins);
      if (context) await admins.signOut(context.session.id);
      clearSessionCookie(reply, request, publicUrl);
      return { signedOut: true };
    });

    app.get("/admins", async (): Promise<AdminsResponse> => {
      return { admins: await admins.list(), invites: await admins.pendingInvites() };
    });

    app.post(
      "/admins/invites",
      {
        schema: {
          body: Type.Object({ email: Type.Optional(Type.String({ maxLength: 320 })) }),
        },
      },
      async (request): Promise<InviteResponse> => {
        const email = request.body.email?.trim() ? request.body.email : undefined;
        const link = await admins.createLink({ email, createdBy: sessionOf(request).admin.id });
        return { url: link.url, expiresAt: link.expiresAt };
      },
    );
  };
}
