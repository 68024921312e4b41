// The only place that listens. Wires config → services → HTTP, prints what a new operator needs,
// and drains on SIGTERM.
import type { FastifyInstance } from "fastify";
import { buildServices, type Services } from "../app/services.ts";
import type { Config } from "../config/config.ts";
import { buildApp } from "../http/app.ts";
import { flushLog, type Logger } from "../lib/logger.ts";
import { startExitWatchdog } from "./exit-watchdog.ts";

/** How long after SHUTDOWN_TIMEOUT_MS a process that could not even exit is killed. */
const WATCHDOG_MARGIN_MS = 1000;
/** How long the last log lines may take to leave before a clean exit goes ahead without them. */
const LOG_FLUSH_TIMEOUT_MS = 500;

/** The sandbox is composed in by the launcher (bin/), so src/ never imports it. */
export interface SandboxHandle {
  url: string;
  users: { email: string; password: string; kind: string }[];
  /** The sandbox's app registration, with Mailroom's redirect URIs registered on it. */
  app: { clientId: string; clientSecret: string; secretExpiresAt: number; name: string };
  close(): Promise<void>;
}
export type SandboxStarter = (options: {
  port: number;
  host: string;
  redirectUris: string[];
}) => Promise<SandboxHandle>;

export interface RunningServer {
  app: FastifyInstance;
  services: Services;
  url: string;
  sandbox: SandboxHandle | undefined;
  shutdown(reason?: string): Promise<void>;
}

export async function startServer(
  config: Config,
  log: Logger,
  options: { startSandbox?: SandboxStarter; handleSignals?: boolean; quiet?: boolean } = {},
): Promise<RunningServer> {
  const startedAt = performance.now();
  const services = await buildServices(config, log);
  let sandbox: SandboxHandle | undefined;
  if (config.sandbox.enabled && options.startSandbox) {
    sandbox = await options.startSandbox({
      port: config.sandbox.port,
      host: "127.0.0.1",
      redirectUris: services.hostedAuth.redirectUris(),
    });
    await applySandboxApp(services, sandbox, log);
  }
  const app = await buildApp(services, {
    dashboard: { sandbox: sandbox ? { url: sandbox.url, users: sandbox.users } : undefined },
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://localhost:${port}`;
  await services.start();

  let closing: Promise<void> | undefined;
  const shutdown = (reason = "shutdown"): Promise<void> => {
    closing ??= (async () => {
      log.info({ reason }, "Shutting down: finishing in-flight requests");
      const timer = setTimeout(() => {
        log.error({ timeoutMs: config.shutdownTimeoutMs }, "Shutdown timed out; exiting");
        process.exit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      // Node closes idle keep-alive connections when the server closes, but not ones that become
      // idle later: once an in-flight response is sent, its connection would otherwise hold the
      // close open until the client's keep-alive timeout.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
      await app.close().finally(() => clearInterval(sweeper));
      await services.jobs.stop({ drainTimeoutMs: config.shutdownTimeoutMs });
      await sandbox?.close();
      await services.close();
      clearTimeout(timer);
      log.info("Stopped");
    })();
    return closing;
  };

  if (options.handleSignals !== false) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        startExitWatchdog(config.shutdownTimeoutMs + WATCHDOG_MARGIN_MS);
        shutdown(signal).then(
          () => flushLog(log, LOG_FLUSH_TIMEOUT_MS).then(() => process.exit(0)),
          (error) => {
            log.error({ err: error }, "Error during shutdown");
            process.exit(1);
          },
        );
      });
    }
  }

  log.info(
    {
      url,
      publicUrl: config.publicUrl,
      database: services.storage.location,
      mode: config.redis ? "scaled" : "embedded",
      ...(services.redis ? { redis: services.redis.location, redisPrefix: services.redis.prefix } : {}),
      sandbox: sandbox?.url ?? "off",
      startupMs: Math.round(performance.now() - startedAt),
    },
    "Mailroom is ready",
  );
  // First run: no admin yet, so print a one-time link to create one (valid until an admin exists).
  const setupLink =
    options.quiet || (await services.admins.hasAdmin())
      ? undefined
      : (await services.admins.createLink()).url;
  if (!options.quiet) printBanner(config, services, url, sandbox, setupLink);
  return { app, services, url, sandbox, shutdown };
}

/** First run in sandbox mode: point the Microsoft settings at the sandbox's app, so nothing needs Azure. */
async function applySandboxApp(services: Services, sandbox: SandboxHandle, log: Logger): Promise<void> {
  const current = await services.microsoftSettings.get();
  if (current && current.clientId !== sandbox.app.clientId) {
    log.info(
      { clientId: current.clientId },
      "Microsoft OAuth settings name a real app; the sandbox app is not used for them",
    );
    return;
  }
  if (current?.check?.result === "valid") return;
  const saved = await services.microsoftSettings.save({
    clientId: sandbox.app.clientId,
    clientSecret: sandbox.app.clientSecret,
    secretExpiresAt: sandbox.app.secretExpiresAt,
    displayName: current?.displayName ?? "Mailroom sandbox",
  });
  log.info(
    { clientId: saved.clientId, check: saved.check?.result },
    `Microsoft OAuth settings use the sandbox app "${sandbox.app.name}"`,
  );
}

/** One line for the banner: embedded, or scaled with where the shared state lives (passwords redacted). */
export function describeMode(services: Pick<Services, "redis" | "storage">): string {
  if (!services.redis) return "embedded (one process; jobs and limits in this process)";
  return `scaled (every process started with this DATABASE_URL and REDIS_URL shares PostgreSQL at ${services.storage.location} and Redis at ${services.redis.location}, key prefix "${services.redis.prefix}")`;
}

function printBanner(
  config: Config,
  services: Services,
  url: string,
  sandbox: SandboxHandle | undefined,
  setupLink?: string,
): void {
  const lines = [
    "",
    `  Mailroom is running at ${url}`,
    ...(setupLink
      ? [
          "",
          "  First run: create the dashboard's admin account (this link works once):",
          `    ${setupLink}`,
          "",
        ]
      : [`  Dashboard:      ${config.publicUrl}/`]),
    `  Mode:           ${describeMode(services)}`,
    `  Public URL:     ${config.publicUrl}`,
    `  Data:           ${services.storage.location}${services.storage.dialect === "sqlite" ? ` (key: ${services.secrets.source === "env" ? "MAILROOM_ENCRYPTION_KEY" : `${config.dataDir}/encryption.key`})` : ""}`,
    `  API reference:  ${config.publicUrl}/docs`,
    `  Health:         ${config.publicUrl}/health, ${config.publicUrl}/ready, ${config.publicUrl}/metrics`,
    ...(config.webhooks.allowPrivateAddresses
      ? [
          `  Webhooks:       may call loopback and private addresses (local development${config.sandbox.enabled ? ", on with the sandbox" : ""}; WEBHOOK_ALLOW_PRIVATE_ADDRESSES=off refuses them)`,
        ]
      : []),
    "",
    "  Next steps:",
    "    Create an API key:   npx mailroom api-key create --name my-backend",
    `    Call the API:        curl -H "X-API-KEY: <key>" ${config.publicUrl}/api/v1/accounts`,
    `    Connect a mailbox:   curl -H "X-API-KEY: <key>" -H "content-type: application/json" \\`,
    `                           -d '{"type":"create","providers":"*","api_url":"${config.publicUrl}","expiresOn":"2099-01-01T00:00:00.000Z"}' \\`,
    `                           ${config.publicUrl}/api/v1/hosted/accounts/link`,
    "",
    "  Redirect URIs to register in Azure (Web platform):",
    ...services.hostedAuth.redirectUris().map((u) => `    ${u}`),
  ];
  if (sandbox) {
    lines.push(
      "",
      `  Microsoft sandbox (offline emulator of Microsoft sign-in and Graph) at ${sandbox.url}`,
      "  Sign in with any of these test users:",
      ...sandbox.users.map((u) => `    ${u.email.padEnd(40)} ${u.password}  (${u.kind})`),
      "  Set SANDBOX=off and MICROSOFT_* settings to use real Microsoft.",
    );
  }
  lines.push("");
  process.stdout.write(`${lines.join("\n")}\n`);
}
