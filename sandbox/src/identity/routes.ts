// The emulated login host (login.microsoftonline.com) on Fastify: each route turns the request into
// an IdentityRequest, calls its handler and sends the IdentityResult. The handlers: authorize.ts
// (authorize, admin consent), login-form.ts (the sign-in pages' posts), token.ts, logout.ts and
// discovery.ts (OpenID configuration, JWKS, instance discovery). Reference §1, §6, §8.1–8.3.
import formbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SandboxState } from "../state.ts";
import { startAuthorize } from "./authorize.ts";
import {
  type IdentityEnv,
  type IdentityRequest,
  type IdentityResult,
  type Params,
  str,
  tokenErrorResult,
} from "./context.ts";
import { errorLookupPage, instanceDiscovery, jwks, openidConfiguration } from "./discovery.ts";
import { AADSTS } from "./errors.ts";
import { postLogin, returnToApp, switchAccount } from "./login-form.ts";
import { logout } from "./logout.ts";
import { createIdentityRuntime } from "./runtime.ts";
import { tokenEndpoint } from "./token.ts";

export { redirectUriMatches } from "./authority.ts";
export { SESSION_COOKIE } from "./context.ts";

export async function registerIdentityRoutes(app: FastifyInstance, state: SandboxState): Promise<void> {
  const env: IdentityEnv = { state, runtime: await createIdentityRuntime(state) };
  await app.register(async (scope) => {
    if (!scope.hasContentTypeParser("application/x-www-form-urlencoded")) await scope.register(formbody);
    registerRoutes(scope, env);
  });
}

function toRequest(req: FastifyRequest): IdentityRequest {
  const query = (req.query ?? {}) as Params;
  const body = req.body && typeof req.body === "object" ? (req.body as Params) : undefined;
  const header = req.headers["client-request-id"];
  return {
    tenant: (req.params as { tenant?: string } | undefined)?.tenant ?? "common",
    query,
    body,
    cookie: req.headers.cookie,
    authorization: req.headers.authorization,
    correlationId: str(query, "client-request-id") ?? (typeof header === "string" ? header : undefined),
  };
}

function send(reply: FastifyReply, result: IdentityResult): FastifyReply {
  if (result.setCookie) reply.header("set-cookie", result.setCookie);
  switch (result.kind) {
    case "html":
      return reply
        .code(result.status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store, no-cache")
        .header("x-frame-options", "DENY")
        .send(result.html);
    case "redirect":
      if (result.noStore) reply.header("cache-control", "no-store, no-cache");
      return reply.code(302).redirect(result.location);
    case "json":
      for (const [name, value] of Object.entries(result.headers)) reply.header(name, value);
      return reply.code(result.status).send(result.body);
  }
}

function registerRoutes(app: FastifyInstance, env: IdentityEnv): void {
  type Handler = (env: IdentityEnv, req: IdentityRequest) => IdentityResult | Promise<IdentityResult>;
  const route =
    (handler: Handler) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      send(reply, await handler(env, toRequest(req)));

  app.get(
    "/:tenant/oauth2/v2.0/authorize",
    route((e, req) => startAuthorize(e, req, req.query, false)),
  );
  app.post(
    "/:tenant/oauth2/v2.0/authorize",
    route((e, req) => startAuthorize(e, req, { ...req.query, ...(req.body ?? {}) }, false)),
  );
  app.get(
    "/:tenant/v2.0/adminconsent",
    route((e, req) => startAuthorize(e, req, req.query, true)),
  );
  app.post("/:tenant/login", route(postLogin));
  app.get("/:tenant/oauth2/v2.0/return", route(returnToApp));
  app.get("/:tenant/oauth2/v2.0/switch", route(switchAccount));

  app.get(
    "/:tenant/oauth2/v2.0/token",
    route((e, req) => tokenErrorResult(e, req, AADSTS.wrongVerb())),
  );
  app.post("/:tenant/oauth2/v2.0/token", route(tokenEndpoint));

  app.get("/:tenant/oauth2/v2.0/logout", route(logout));
  app.post("/:tenant/oauth2/v2.0/logout", route(logout));

  app.get("/:tenant/v2.0/.well-known/openid-configuration", route(openidConfiguration));
  app.get("/:tenant/discovery/v2.0/keys", route(jwks));
  app.get("/common/discovery/instance", route(instanceDiscovery));
  app.get(
    "/error",
    route((_e, req) => errorLookupPage(req)),
  );
}
