// Builds the Fastify app from services. Only src/main/server.ts listens; tests use app.inject().
import formbody from "@fastify/formbody";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Services } from "../app/services.ts";
import { requireClosedBodies } from "./closed-bodies.ts";
import {
  clientErrorHandler,
  frameworkErrors,
  installErrorHandling,
  JSON_CONTENT_TYPE,
  MAX_PARAM_LENGTH,
} from "./error-handler.ts";
import { compileSchemasOnFirstUse } from "./lazy-schema-compilers.ts";
import { apiKeyAuth } from "./plugins/api-key-auth.ts";
import { checkpointRoutes } from "./routes/accounts/checkpoint.ts";
import { listAccountsRoute } from "./routes/accounts/list.ts";
import { accountRoutes } from "./routes/accounts/one.ts";
import { restartAccountRoute } from "./routes/accounts/restart.ts";
import { sharedMailboxRoute } from "./routes/accounts/shared-mailboxes.ts";
import { type DashboardOptions, dashboardRoutes } from "./routes/dashboard/index.ts";
import { createDraftRoute } from "./routes/drafts/create.ts";
import { attachmentRoute } from "./routes/emails/attachment.ts";
import { listEmailsRoute } from "./routes/emails/list.ts";
import { emailRoutes } from "./routes/emails/one.ts";
import { rawEmailRoute } from "./routes/emails/raw.ts";
import { scheduledEmailRoutes } from "./routes/emails/scheduled.ts";
import { sendEmailRoute } from "./routes/emails/send.ts";
import { folderRoutes } from "./routes/folders/folders.ts";
import { createLinkRoute } from "./routes/hosted/create-link.ts";
import { publisherFileRoute } from "./routes/hosted/publisher-file.ts";
import { wizardRoutes } from "./routes/hosted/wizard.ts";
import { graphNotificationRoutes } from "./routes/realtime/graph-notifications.ts";
import { systemRoutes } from "./routes/system/system.ts";
import { trackingRoutes } from "./routes/tracking/tracking.ts";
import { webhookRoutes } from "./routes/webhooks/index.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Route needs no API key (health, docs, hosted auth pages, callbacks). */
    public?: boolean;
  }
}

export interface AppOptions {
  /** Extra routes later capabilities register (kept here so the factory stays the one place that wires HTTP). */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
  /** The operator dashboard (its API and the React app); server.ts passes the sandbox it started. */
  dashboard?: DashboardOptions;
  /**
   * When route schemas are compiled: on each route's first request (default; a start-up does not pay
   * for routes it never serves), or all while the app starts (a test proves every schema compiles).
   */
  compileSchemas?: "on-first-use" | "at-start";
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log.child({ component: "http" }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: Mailroom logs its own request line with the request id.
    childLoggerFactory: (logger) => logger,
    trustProxy: services.config.trustProxy,
    bodyLimit: 160 * 1024 * 1024,
    return503OnClosing: false,
    clientErrorHandler,
    // verbose: a closed schema's error carries the object, so every unknown field is named (error-handler.ts).
    ajv: {
      customOptions: { coerceTypes: "array", removeAdditional: false, allErrors: false, verbose: true },
    },
    ...(options.compileSchemas === "at-start" ? {} : { schemaController: compileSchemasOnFirstUse() }),
    // Unipile's SDK may send `//api/v1/...` when its base URL ends with a slash.
    // Graph ids are ~150 characters and Mailroom's email ids embed them (docs/adr/0003-email-ids.md).
    routerOptions: {
      ignoreDuplicateSlashes: true,
      ignoreTrailingSlash: true,
      maxParamLength: MAX_PARAM_LENGTH,
    },
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app, services.log);
  app.addHook("onRoute", requireClosedBodies);

  // Both hooks run on every request: callback style, so neither allocates a promise.
  app.addHook("onSend", (_request, reply, payload, done) => {
    const type = reply.getHeader("content-type");
    if (typeof type === "string" && type.startsWith("application/json") && !type.includes("charset")) {
      reply.header("content-type", JSON_CONTENT_TYPE);
    }
    done(null, payload);
  });

  app.addHook("onResponse", (request, reply, done) => {
    services.metrics.httpRequests.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    const serverError = reply.statusCode >= 500;
    if (serverError || services.log.isLevelEnabled("debug")) {
      const line = {
        reqId: request.id,
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      };
      if (serverError) services.log.warn(line, "request answered with a server error");
      else services.log.debug(line, "request");
    }
    done();
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Mailroom API",
        version: "1",
        description:
          "Self-hosted email API for Microsoft accounts, wire-compatible with Unipile's v1 email API. Authenticate with the `X-API-KEY` header.",
      },
      servers: [{ url: services.config.publicUrl }],
      components: {
        securitySchemes: { "Access-Token": { type: "apiKey", in: "header", name: "X-API-KEY" } },
      },
      security: [{ "Access-Token": [] }],
    },
    hideUntagged: true,
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    uiConfig: { docExpansion: "list", deepLinking: true },
  });

  await app.register(formbody);
  await app.register(apiKeyAuth(services));
  await app.register(systemRoutes(services));
  await app.register(listAccountsRoute(services));
  await app.register(accountRoutes(services));
  await app.register(restartAccountRoute(services.realtime));
  await app.register(sharedMailboxRoute(services));
  await app.register(checkpointRoutes());
  await app.register(listEmailsRoute(services.email));
  await app.register(emailRoutes(services.email));
  await app.register(attachmentRoute(services.email));
  await app.register(rawEmailRoute(services.email));
  const sending = {
    send: services.emailSend,
    idempotency: services.idempotency,
    scheduled: services.scheduled,
  };
  await app.register(sendEmailRoute(sending));
  await app.register(createDraftRoute(sending));
  await app.register(scheduledEmailRoutes(services.scheduled));
  await app.register(folderRoutes(services.email));
  await app.register(createLinkRoute(services.hostedAuth, services.idempotency));
  await app.register(
    wizardRoutes({
      hosted: services.hostedAuth,
      settings: services.microsoftSettings,
      publicUrl: services.config.publicUrl,
      log: services.log,
    }),
  );
  await app.register(publisherFileRoute(services.microsoftSettings));
  await app.register(dashboardRoutes(services, options.dashboard));
  await app.register(webhookRoutes(services.webhooks, services.idempotency));
  await app.register(graphNotificationRoutes(services.realtime));
  await app.register(trackingRoutes(services.tracking));
  for (const plugin of options.plugins ?? []) await app.register(plugin);

  app.get(
    "/api/v1/openapi.json",
    { config: { public: true }, schema: { hide: true } },
    async (_request, reply) => reply.type(JSON_CONTENT_TYPE).send(app.swagger()),
  );
  return app as unknown as FastifyInstance;
}
