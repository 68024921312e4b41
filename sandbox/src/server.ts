// Composition of the sandbox: one Fastify app on one origin serving the login host
// (/{tenant}/oauth2/v2.0/*, discovery, JWKS), Graph (/v1.0/*) and the admin API (/_sandbox/*).
import Fastify, { type FastifyInstance } from "fastify";
import { registerAdminRoutes } from "./admin/routes.ts";
import { PARSER_MAX_HEADER_BYTES, registerRequestLimits } from "./graph/request-limits.ts";
import { registerGraphRoutes } from "./graph/routes.ts";
import { registerIdentityRoutes } from "./identity/routes.ts";
import { seedWorld } from "./seed.ts";
import { type SandboxOptions, SandboxState } from "./state.ts";
import { registerSubscriptionRoutes } from "./subscriptions/routes.ts";

export interface Sandbox {
  app: FastifyInstance;
  state: SandboxState;
  /** Base URL once listening (e.g. http://127.0.0.1:3001). */
  url: string;
  close(): Promise<void>;
}

export interface StartSandboxOptions extends Omit<SandboxOptions, "baseUrl"> {
  port?: number; // 0 = any free port
  host?: string;
  /** Public base URL if it differs from http://{host}:{port} (e.g. behind https). */
  baseUrl?: string;
  https?: { key: string | Buffer; cert: string | Buffer };
  logger?: boolean;
}

export async function buildSandboxApp(
  options: SandboxOptions,
  https?: { key: string | Buffer; cert: string | Buffer },
): Promise<{ app: FastifyInstance; state: SandboxState }> {
  const state = new SandboxState(options);
  const app = (
    https
      ? Fastify({ logger: false, https: { ...https, maxHeaderSize: PARSER_MAX_HEADER_BYTES } })
      : Fastify({ logger: false, http: { maxHeaderSize: PARSER_MAX_HEADER_BYTES } })
  ) as FastifyInstance;
  registerRequestLimits(app, state.now);
  await seedWorld(state);
  await registerIdentityRoutes(app, state);
  await registerGraphRoutes(app, state);
  await registerSubscriptionRoutes(app, state);
  await registerAdminRoutes(app, state);
  // Browsers ask every origin for an icon: the four squares, as on Microsoft's sign-in pages.
  app.get("/favicon.ico", async (_request, reply) =>
    reply
      .type("image/svg+xml")
      .header("cache-control", "public, max-age=86400")
      .send(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 23 23"><path fill="#f25022" d="M1 1h10v10H1z"/><path fill="#7fba00" d="M12 1h10v10H12z"/><path fill="#00a4ef" d="M1 12h10v10H1z"/><path fill="#ffb900" d="M12 12h10v10H12z"/></svg>',
      ),
  );
  return { app, state };
}

export async function startSandbox(options: StartSandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  // baseUrl must be known before seeding (issuer URLs); with port 0 it is patched after listen.
  const scheme = options.https ? "https" : "http";
  const provisional = options.baseUrl ?? `${scheme}://${host === "0.0.0.0" ? "localhost" : host}:${port}`;
  const { app, state } = await buildSandboxApp({ ...options, baseUrl: provisional }, options.https);
  await app.listen({ port, host });
  const address = app.server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  const url = options.baseUrl ?? `${scheme}://${host === "0.0.0.0" ? "localhost" : host}:${actualPort}`;
  (state.options as { baseUrl: string }).baseUrl = url;
  return {
    app,
    state,
    url,
    close: async () => {
      state.events.emit("close");
      await app.close();
    },
  };
}
