// Mailroom listening on a real port with the sandbox as Microsoft, configured as an operator would:
// the sandbox app's redirect URIs registered, its client id and secret saved in Settings.
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer } from "node:net";
import type { FastifyInstance } from "fastify";
import { SEED_PASSWORD, SEEDED_APP } from "../../sandbox/src/seed.ts";
import { type Sandbox, startSandbox } from "../../sandbox/src/server.ts";
import type { BuildOptions, Services } from "../../src/app/services.ts";
import { buildApp } from "../../src/http/app.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { createTestApp, type TestApp } from "./app.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./browser.ts";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface ConnectHarness {
  t: TestApp;
  services: Services;
  app: FastifyInstance;
  sandbox: Sandbox;
  baseUrl: string;
  /** Creates a hosted auth link through the API, as the operator's backend does. */
  createLink(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Connects sandbox mailboxes through the hosted wizard, one after another; returns their account ids. */
  connectMailboxes(emails: string[]): Promise<Record<string, string>>;
  dispose(): Promise<void>;
}

export interface ConnectHarnessOptions {
  /** Seed mailboxes from the sandbox corpus (default: empty mailboxes). */
  seedCorpus?: boolean;
  /** Corpus messages for the first work user (others get a sixth). */
  corpusSize?: number;
  /** Extra environment (e.g. WEBHOOK_ALLOW_PRIVATE_ADDRESSES=on for receivers on 127.0.0.1). */
  env?: Record<string, string>;
  /** Webhook delivery tuning passed to buildServices. */
  webhooks?: BuildOptions["webhooks"];
  /** The time Mailroom reads (the sandbox keeps real time); default the system clock. */
  clock?: Clock;
  /** Let the sandbox post change notifications to http URLs (Mailroom listens on http in tests). */
  allowHttpNotifications?: boolean;
  /** Limiters passed to buildServices (default: the in-process ones). */
  limits?: BuildOptions["limits"];
  /** `fetch` for Mailroom's calls to Microsoft (e.g. to count them); default the global one. */
  fetch?: typeof fetch;
}

export async function startConnectHarness(
  dialect: "sqlite" | "postgres" = "sqlite",
  options: ConnectHarnessOptions = {},
): Promise<ConnectHarness> {
  const sandbox = await startSandbox({
    port: 0,
    seedCorpus: options.seedCorpus ?? false,
    ...(options.corpusSize !== undefined ? { corpusSize: options.corpusSize } : {}),
    ...(options.allowHttpNotifications ? { allowHttpNotifications: true } : {}),
  });
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const t = await createTestApp(
    dialect,
    {
      PUBLIC_URL: baseUrl,
      MICROSOFT_LOGIN_URL: sandbox.url,
      MICROSOFT_GRAPH_URL: sandbox.url,
      // Background polling would spend the sandbox's fault and throttle switches that other suites
      // set for their own calls; the realtime tests choose their interval.
      POLL_INTERVAL_SECONDS: "86400",
      ...options.env,
    },
    {
      jobs: { pollIntervalMs: 20 },
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
  );
  await t.app.listen({ port, host: "127.0.0.1" });
  await t.services.jobs.start();
  const app = sandbox.state.apps.get(SEEDED_APP.clientId)!;
  app.redirectUris.push(...t.services.hostedAuth.redirectUris());
  await t.services.microsoftSettings.save({
    clientId: SEEDED_APP.clientId,
    clientSecret: SEEDED_APP.clientSecret,
    displayName: "Acme CRM",
  });
  const createLink: ConnectHarness["createLink"] = async (body) => {
    const res = await fetch(`${baseUrl}/api/v1/hosted/accounts/link`, {
      method: "POST",
      headers: { "x-api-key": t.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        api_url: baseUrl,
        expiresOn: new Date(Date.now() + 3600_000).toISOString(),
        ...body,
      }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return {
    t,
    services: t.services,
    app: t.app,
    sandbox,
    baseUrl,
    createLink,
    async connectMailboxes(emails) {
      const ids: Record<string, string> = {};
      for (const email of emails) {
        const link = await createLink({ type: "create", providers: "*" });
        await connectThroughWizard(new MultiOriginBrowser([baseUrl, sandbox.url]), link.json.url as string, {
          email,
          password: SEED_PASSWORD,
        });
        const account = (await t.services.repos.accounts.page(250)).find((row) => row.email === email);
        if (!account) throw new Error(`connecting ${email} through the wizard created no account`);
        ids[email] = account.id;
      }
      return ids;
    },
    async dispose() {
      await t.dispose();
      await sandbox.close();
    },
  };
}

export interface ReceivedRequest {
  body: string;
  headers: IncomingMessage["headers"];
  url: string;
}

/** How the receiver answers one request: a status (and headers), or "hang" to never answer. */
export type ReceiverAnswer = { status: number; headers?: Record<string, string> } | "hang";

/**
 * The operator's notify_url or webhook endpoint: records every POST with its raw body and headers.
 * Answers `status` (200), or whatever `respond` returns for the request (set it to simulate outages,
 * redirects or a receiver that never answers).
 */
export async function startReceiver(): Promise<{
  url: string;
  received: ReceivedRequest[];
  server: Server;
  close(): Promise<void>;
  status: number;
  respond: ((request: ReceivedRequest, index: number) => ReceiverAnswer) | undefined;
}> {
  const received: ReceivedRequest[] = [];
  const state: {
    status: number;
    respond: ((request: ReceivedRequest, index: number) => ReceiverAnswer) | undefined;
  } = { status: 200, respond: undefined };
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const request = { body, headers: req.headers, url: req.url ?? "" };
      received.push(request);
      const answer = state.respond?.(request, received.length - 1) ?? { status: state.status };
      if (answer === "hang") return;
      res.writeHead(answer.status, answer.headers).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/mailroom/notify?token=abc`,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export { buildApp };
