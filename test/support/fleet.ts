// Scaled mode as an operator runs it: one Microsoft sandbox process (`mailroom sandbox`), N Mailroom
// processes (`mailroom start`) on one fresh PostgreSQL database and one Redis under a random key
// prefix, and a round-robin load balancer in front of them whose address is PUBLIC_URL. Nothing is
// shared in memory: the processes meet only in PostgreSQL and Redis.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import { Redis } from "ioredis";
import pg from "pg";
import { SEED_PASSWORD, SEEDED_APP } from "../../sandbox/src/seed.ts";
import { buildServices } from "../../src/app/services.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { connectThroughWizard, MultiOriginBrowser } from "./browser.ts";
import { BIN, type StartedMailroom, startMailroom } from "./cli.ts";
import { freePort } from "./connect-harness.ts";
import { createTestDatabase, type TestDatabase } from "./databases.ts";
import { until } from "./until.ts";

export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface SandboxProcess {
  url: string;
  child: ChildProcess;
  /** POST to the sandbox's admin API (`/_sandbox/…`); throws unless 2xx. */
  admin(path: string, body: unknown): Promise<Record<string, unknown>>;
  stats(): Promise<SandboxStats>;
  stop(): Promise<void>;
}

export interface SandboxStats {
  requests: Record<string, number>;
  peak_concurrency: Record<string, number>;
  throttled: Record<string, number>;
}

/** `mailroom sandbox --port <free>` in its own process. */
export async function startSandboxProcess(): Promise<SandboxProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "sandbox", "--port", String(port)], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  // The CLI names itself by the interface it binds (127.0.0.1), and so do its sign-in pages' URLs.
  const url = `http://127.0.0.1:${port}`;
  await until(
    "the sandbox process to listen",
    () => {
      if (child.exitCode !== null) throw new Error(`the sandbox exited:\n${output}`);
      return output.includes("Microsoft sandbox listening on");
    },
    { timeoutMs: 60_000, intervalMs: 50, detail: () => output },
  );
  const admin = async (path: string, body: unknown, method = "POST") => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sandbox ${method} ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return {
    url,
    child,
    admin: (path, body) => admin(path, body),
    async stats() {
      return (await (await fetch(`${url}/_sandbox/stats`)).json()) as SandboxStats;
    },
    async stop() {
      await stopChild(child, "SIGTERM");
    },
  };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

/** An HTTP load balancer that hands each request to the next target in turn (no stickiness). */
export interface LoadBalancer {
  url: string;
  /** The processes' base URLs requests go to; change it to take one out of rotation. */
  targets: string[];
  /** Which target served each request, in order. */
  served: string[];
  close(): Promise<void>;
}

export async function startLoadBalancer(targets: string[]): Promise<LoadBalancer> {
  let next = 0;
  const state = { targets: [...targets], served: [] as string[] };
  const server: Server = createServer((req, res) => {
    const target = state.targets[next++ % state.targets.length];
    if (!target) {
      res.writeHead(502).end("no target");
      return;
    }
    state.served.push(target);
    const upstream = new URL(req.url ?? "/", target);
    const forward = httpRequest(
      upstream,
      { method: req.method, headers: { ...req.headers, host: req.headers.host ?? upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export interface Fleet {
  sandbox: SandboxProcess;
  processes: StartedMailroom[];
  lb: LoadBalancer;
  database: TestDatabase;
  redisPrefix: string;
  /** What every process is started with (DATABASE_URL, REDIS_URL, the key, PUBLIC_URL, …). */
  env: Record<string, string>;
  apiKey: string;
  /** Starts one more process with the fleet's environment (plus `env`), without adding it to the LB. */
  startProcess(env?: Record<string, string>): Promise<StartedMailroom>;
  /** Connects a sandbox mailbox through the hosted wizard at PUBLIC_URL (the LB); returns the account id. */
  connect(email: string): Promise<string>;
  /** GET with the API key against one process (or the LB). */
  api(base: string, path: string): Promise<Response>;
  /** Creates an email webhook (mail_received) at `url` through the LB; returns its id. */
  createWebhook(url: string): Promise<string>;
  /** Resolves once the account's first delta sync (the baseline) is done: later mail is announced. */
  waitForBaseline(accountId: string): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  processes: number;
  /** Extra environment for every process (POLL_INTERVAL_SECONDS, …). */
  env?: Record<string, string>;
  /** Node flags for every Mailroom process (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Default: the shared Redis at 127.0.0.1:6379. */
  redisUrl?: string;
  /** Default: a fresh database on the shared PostgreSQL at 127.0.0.1:5432. */
  database?: TestDatabase;
  /**
   * "embedded": one process on a SQLite file, no Redis (the default mode, for comparisons). Default
   * "scaled".
   */
  mode?: "scaled" | "embedded";
}

/** Random, so concurrent test files never share Redis keys; `cleanRedisPrefix` removes only these. */
export function randomPrefix(): string {
  return `mailroom-test-${randomBytes(6).toString("hex")}`;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const sandbox = await startSandboxProcess();
  const embedded = options.mode === "embedded";
  const database = options.database ?? (await createTestDatabase(embedded ? "sqlite" : "postgres"));
  const lb = await startLoadBalancer([]);
  const redisPrefix = randomPrefix();
  const env: Record<string, string> = {
    ...(database.config.kind === "postgres"
      ? { DATABASE_URL: database.config.url }
      : { DATABASE_URL: `sqlite://${database.config.path}` }),
    ...(embedded ? {} : { REDIS_URL: options.redisUrl ?? SHARED_REDIS_URL, REDIS_PREFIX: redisPrefix }),
    MAILROOM_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    PUBLIC_URL: lb.url,
    SANDBOX: "off",
    MICROSOFT_LOGIN_URL: sandbox.url,
    MICROSOFT_GRAPH_URL: sandbox.url,
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on",
    POLL_INTERVAL_SECONDS: "86400",
    LOG_LEVEL: "warn",
    // As in test/support/app.ts: reads of mail the sandbox changed ask Graph, unless a suite says on-change.
    EMAIL_CACHE_REVALIDATE: "each",
    ...options.env,
  };
  const processes: StartedMailroom[] = [];
  const fleet: Fleet = {
    sandbox,
    processes,
    lb,
    database,
    redisPrefix,
    env,
    apiKey: "",
    // Ready once the banner's last section is out (it follows the "Mailroom is ready" line).
    startProcess: (extra = {}) =>
      startMailroom({
        env: { ...env, LOG_LEVEL: "info", ...extra },
        dataDirPrefix: "mailroom-fleet-",
        nodeArgs: options.nodeArgs ?? [],
        readyWhen: /Redirect URIs to register/,
      }),
    async connect(email) {
      const link = await (
        await fetch(`${lb.url}/api/v1/hosted/accounts/link`, {
          method: "POST",
          headers: { "x-api-key": fleet.apiKey, "content-type": "application/json" },
          body: JSON.stringify({
            type: "create",
            providers: "*",
            api_url: lb.url,
            expiresOn: new Date(Date.now() + 3600_000).toISOString(),
            success_redirect_url: "https://app.example.com/ok",
            bypass_success_screen: true,
          }),
        })
      ).json();
      const end = await connectThroughWizard(
        new MultiOriginBrowser([lb.url, sandbox.url]),
        (link as { url: string }).url,
        { email, password: SEED_PASSWORD },
      );
      if (end.left?.toString() !== "https://app.example.com/ok")
        throw new Error(`the wizard for ${email} ended at ${end.left ?? end.url}: ${end.html.slice(0, 500)}`);
      const list = (await (await fleet.api(lb.url, "/api/v1/accounts?limit=250")).json()) as {
        items: { id: string; name: string; connection_params?: { mail?: { username?: string } } }[];
      };
      const account = list.items.find(
        (item) => item.connection_params?.mail?.username === email || item.name === email,
      );
      if (!account) throw new Error(`no account for ${email} after the wizard: ${JSON.stringify(list)}`);
      return account.id;
    },
    api: (base, path) => fetch(`${base}${path}`, { headers: { "x-api-key": fleet.apiKey } }),
    async createWebhook(url) {
      const res = await fetch(`${lb.url}/api/v1/webhooks`, {
        method: "POST",
        headers: { "x-api-key": fleet.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ request_url: url, source: "email", name: "fleet", events: ["mail_received"] }),
      });
      const json = (await res.json()) as { webhook_id: string };
      if (res.status !== 201)
        throw new Error(`creating the webhook answered ${res.status}: ${JSON.stringify(json)}`);
      return json.webhook_id;
    },
    async waitForBaseline(accountId) {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      try {
        await until(
          "the account's first delta sync (baseline)",
          async () =>
            (
              await client.query("select baseline_at from realtime_accounts where account_id = $1", [
                accountId,
              ])
            ).rows[0]?.baseline_at != null,
          { timeoutMs: 30_000, intervalMs: 100 },
        );
      } finally {
        await client.end();
      }
    },
    async stop() {
      // A profiled process (nodeArgs) stops with SIGTERM, so it lives to write its profile.
      const signal = options.nodeArgs?.length ? "SIGTERM" : "SIGKILL";
      await Promise.all(processes.map((p) => p.stop(signal).catch(() => {})));
      await lb.close();
      await sandbox.stop();
      await database.drop().catch(() => {});
      if (env.REDIS_URL) await cleanRedisPrefix(env.REDIS_URL, redisPrefix);
    },
  };
  try {
    fleet.apiKey = await prepareDatabase(env, sandbox);
    // The first alone (it fills tsx's compile cache), the others together.
    processes.push(await fleet.startProcess());
    processes.push(
      ...(await Promise.all(Array.from({ length: options.processes - 1 }, () => fleet.startProcess()))),
    );
    lb.targets.push(...processes.map((p) => p.base));
  } catch (error) {
    await fleet.stop();
    throw error;
  }
  return fleet;
}

/**
 * What an operator does once per deployment: migrate, save the Azure app (here the sandbox's, with
 * PUBLIC_URL's redirect URIs registered on it) and create an API key. Returns the key.
 */
async function prepareDatabase(env: Record<string, string>, sandbox: SandboxProcess): Promise<string> {
  const services = await buildServices(loadConfig(env), createLogger({ level: "silent" }));
  try {
    const patched = await fetch(`${sandbox.url}/_sandbox/apps/${SEEDED_APP.clientId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        redirect_uris: [...SEEDED_APP.redirectUris, ...services.hostedAuth.redirectUris()],
      }),
    });
    if (!patched.ok) throw new Error(`the sandbox refused the redirect URIs: ${await patched.text()}`);
    await services.microsoftSettings.save({
      clientId: SEEDED_APP.clientId,
      clientSecret: SEEDED_APP.clientSecret,
      displayName: "Acme CRM",
    });
    return (await services.apiKeys.create("fleet")).key;
  } finally {
    await services.close();
  }
}

/** Deletes the keys under one prefix (never anything else: the Redis is shared). */
export async function cleanRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = nextCursor;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } catch {
    // A private Redis that was already stopped holds nothing to clean.
  } finally {
    redis.disconnect();
  }
}

/** Reads the mailbox's sandbox user id, to find its counters in `/_sandbox/stats`. */
export async function sandboxUserId(sandbox: SandboxProcess, email: string): Promise<string> {
  const users = (await (await fetch(`${sandbox.url}/_sandbox/users`)).json()) as {
    id: string;
    email: string;
  }[];
  const user = users.find((u) => u.email === email);
  if (!user) throw new Error(`no sandbox user ${email}`);
  return user.id;
}

/** Mail from outside into a sandbox mailbox (`POST /_sandbox/mail`); `subject` identifies it. */
export async function injectMail(sandbox: SandboxProcess, to: string, subject: string): Promise<void> {
  await sandbox.admin("/_sandbox/mail", {
    from: "Ada Lovelace <ada@fabrikam.example>",
    to: [to],
    subject,
    body: `Hello about ${subject}`,
  });
}

/** The mail_received events a receiver got: event id (X-Mailroom-Event-Id) and subject, in order. */
export function mailReceived(received: { body: string; headers: Record<string, unknown> }[]): {
  id: string;
  subject: string;
}[] {
  return received
    .map((r) => ({
      id: String(r.headers["x-mailroom-event-id"]),
      body: JSON.parse(r.body) as Record<string, unknown>,
    }))
    .filter((e) => e.body.event === "mail_received")
    .map((e) => ({ id: e.id, subject: String(e.body.subject) }));
}

/**
 * Checks delivery at least once: every subject arrived, and a subject that arrived twice came under
 * the same event id (a redelivery the receiver can drop), never as two events.
 */
export function checkDelivered(
  events: { id: string; subject: string }[],
  subjects: string[],
): { missing: string[]; splitSubjects: string[]; duplicates: number } {
  const idsBySubject = new Map<string, Set<string>>();
  for (const e of events) {
    const ids = idsBySubject.get(e.subject) ?? new Set<string>();
    ids.add(e.id);
    idsBySubject.set(e.subject, ids);
  }
  return {
    missing: subjects.filter((s) => !idsBySubject.has(s)),
    splitSubjects: [...idsBySubject].filter(([, ids]) => ids.size > 1).map(([s]) => s),
    duplicates: events.length - idsBySubject.size,
  };
}

/** Waits until every subject has arrived as mail_received (at least once); returns the check. */
export function untilDelivered(
  what: string,
  received: { body: string; headers: Record<string, unknown> }[],
  subjects: string[],
  timeoutMs: number,
): Promise<ReturnType<typeof checkDelivered>> {
  const check = () => checkDelivered(mailReceived(received), subjects);
  return until(
    what,
    () => {
      const result = check();
      return result.missing.length === 0 && result;
    },
    { timeoutMs, intervalMs: 200, detail: () => JSON.stringify(check().missing) },
  );
}
