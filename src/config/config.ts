// The one place that reads the environment. Every variable is declared once in variables.ts, with its
// meaning, default and parser; `loadConfig` reports every problem at once and names the variable at fault.
import { resolve } from "node:path";
import type { RetentionPolicy } from "../domain/housekeeping/retention.ts";

import type { LogLevel } from "./log-levels.ts";
import { DAY_MS, HOUR_MS, VARIABLES, type VariableName, type VariableSpec } from "./variables.ts";

export { LOG_LEVELS, type LogLevel } from "./log-levels.ts";
export { VARIABLES, type VariableName };

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  publicUrl: string;
  database: { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };
  /**
   * Scaled mode (REDIS_URL set): several processes share the PostgreSQL database and this Redis, which
   * carries the jobs (BullMQ), the per-mailbox limiter and the sign-in rate limit. Undefined: embedded
   * mode (one process, the SQL job runner, in-process limits).
   */
  redis: { url: string; prefix: string } | undefined;
  encryptionKeys: string | undefined;
  logLevel: LogLevel;
  logFormat: "pretty" | "json" | undefined;
  microsoft: {
    loginUrl: string;
    graphUrl: string;
  };
  sandbox: { enabled: boolean; port: number };
  shutdownTimeoutMs: number;
  /** Fastify's trustProxy: false, true, or the trusted proxy addresses. */
  trustProxy: boolean | string[];
  webhooks: { allowPrivateAddresses: boolean };
  /** Longest a hosted auth link may live (HOSTED_LINK_MAX_DAYS); undefined = no maximum. */
  hostedLinkMaxDays: number | undefined;
  realtime: {
    /** Delta poll interval per account (without a healthy Graph subscription). */
    pollIntervalMs: number;
    /** Polls one process runs at once (POLL_CONCURRENCY). */
    pollConcurrency: number;
    /** Whether Graph subscriptions are created (GRAPH_SUBSCRIPTIONS, "auto" = PUBLIC_URL is https). */
    subscriptionsEnabled: boolean;
  };
  /** How long finished work is kept (docs/adr/0006-retention.md); the housekeeping job enforces it. */
  retention: RetentionPolicy;
  /** Idempotency-Key lifetime, and how long a duplicate waits for the running request's answer. */
  idempotency: { ttlMs: number; waitMs: number };
  /** Scheduled send: how far ahead `send_at` may be. */
  scheduledSend: { maxAheadMs: number };
  /** The per-process cache of mapped emails (docs/adr/0008-email-cache.md); maxBytes 0 = off. */
  emailCache: {
    maxBytes: number;
    maxBytesPerAccount: number;
    /** Whether reads are served as last seen while realtime keeps up (EMAIL_CACHE_REVALIDATE). */
    revalidate: "on-change" | "each";
  };
  /** The largest message accepted for sending or as a draft (MAX_MESSAGE_MB). */
  maxMessageBytes: number;
  /** Email tracking (docs/adr/0009-email-tracking.md): events kept per tracked mail and minute. */
  tracking: { eventsPerMinute: number };
}

/** The process environment; the config module is the only place that reads it. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Parsed = { [K in VariableName]: ReturnType<(typeof VARIABLES)[K]["parse"]> | undefined };

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Config {
  const problems: string[] = [];
  const parsed = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(VARIABLES) as [VariableName, VariableSpec<unknown>][]) {
    const given = env[name];
    const raw = given === undefined || given === "" ? spec.default : given;
    if (raw === undefined) continue;
    try {
      parsed[name] = spec.parse(raw);
    } catch (error) {
      problems.push(
        `${name}=${JSON.stringify(redactIfSecret(name, raw))} is invalid (${(error as Error).message}): expected ${spec.expected}.`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const p = parsed as Parsed;

  const port = p.PORT ?? 3000;
  const dataDir = resolve(cwd, p.DATA_DIR ?? "./data");
  let publicUrl = p.PUBLIC_URL ?? `http://localhost:${port}`;
  if (new URL(publicUrl).pathname !== "/") {
    throw new ConfigError([
      `PUBLIC_URL=${JSON.stringify(publicUrl)} has a path: expected ${VARIABLES.PUBLIC_URL.expected}.`,
    ]);
  }
  publicUrl = publicUrl.replace(/\/+$/, "");

  let database: Config["database"];
  const dbUrl = p.DATABASE_URL;
  if (dbUrl?.startsWith("postgres")) database = { kind: "postgres", url: dbUrl };
  else if (dbUrl?.startsWith("sqlite://"))
    database = { kind: "sqlite", path: resolve(cwd, dbUrl.slice("sqlite://".length)) };
  else database = { kind: "sqlite", path: resolve(dataDir, "mailroom.db") };

  let redis: Config["redis"];
  if (p.REDIS_URL !== undefined) {
    const problems: string[] = [];
    // Every process must see the same accounts, jobs' state and keys: a per-process SQLite file
    // would give each its own world while they share one job queue.
    if (database.kind !== "postgres")
      problems.push(
        "REDIS_URL is set (scaled mode), but DATABASE_URL is not a postgres:// URL. Scaled mode needs a shared PostgreSQL database: every process must see the same data, and SQLite is a file of one process. Set DATABASE_URL=postgres://… or unset REDIS_URL for the embedded mode.",
      );
    // Each process would otherwise generate its own key file in its own DATA_DIR.
    if (p.MAILROOM_ENCRYPTION_KEY === undefined)
      problems.push(
        "REDIS_URL is set (scaled mode), but MAILROOM_ENCRYPTION_KEY is not. Every process must be given the same key(s) (generate one with: openssl rand -base64 32); a key file in DATA_DIR would differ between processes.",
      );
    // The embedded sandbox lives in one process's memory: a mailbox connected through one process
    // would not exist for the others.
    if (p.SANDBOX === true)
      problems.push(
        "REDIS_URL is set (scaled mode), but SANDBOX=on runs a separate in-process sandbox in each process. Run one sandbox for all (npx mailroom sandbox) and point MICROSOFT_LOGIN_URL and MICROSOFT_GRAPH_URL at it.",
      );
    if (problems.length > 0) throw new ConfigError(problems);
    redis = { url: p.REDIS_URL, prefix: p.REDIS_PREFIX ?? "mailroom" };
  }

  const microsoftConfigured = p.MICROSOFT_LOGIN_URL !== undefined || p.MICROSOFT_GRAPH_URL !== undefined;
  const sandboxEnabled = p.SANDBOX ?? (!microsoftConfigured && redis === undefined);
  const sandboxPort = p.SANDBOX_PORT ?? 3001;
  const sandboxUrl = `http://localhost:${sandboxPort}`;

  return {
    host: p.HOST ?? "0.0.0.0",
    port,
    dataDir,
    publicUrl,
    database,
    redis,
    encryptionKeys: p.MAILROOM_ENCRYPTION_KEY,
    logLevel: p.LOG_LEVEL ?? "info",
    logFormat: p.LOG_FORMAT as "pretty" | "json" | undefined,
    microsoft: {
      loginUrl: p.MICROSOFT_LOGIN_URL ?? (sandboxEnabled ? sandboxUrl : "https://login.microsoftonline.com"),
      graphUrl: p.MICROSOFT_GRAPH_URL ?? (sandboxEnabled ? sandboxUrl : "https://graph.microsoft.com"),
    },
    sandbox: { enabled: sandboxEnabled, port: sandboxPort },
    shutdownTimeoutMs: p.SHUTDOWN_TIMEOUT_MS ?? 10_000,
    trustProxy: p.TRUST_PROXY ?? false,
    webhooks: { allowPrivateAddresses: p.WEBHOOK_ALLOW_PRIVATE_ADDRESSES ?? sandboxEnabled },
    hostedLinkMaxDays: p.HOSTED_LINK_MAX_DAYS,
    realtime: {
      pollIntervalMs: (p.POLL_INTERVAL_SECONDS ?? (sandboxEnabled ? 5 : 30)) * 1000,
      pollConcurrency: p.POLL_CONCURRENCY ?? 64,
      subscriptionsEnabled:
        p.GRAPH_SUBSCRIPTIONS === "on" ||
        ((p.GRAPH_SUBSCRIPTIONS ?? "auto") === "auto" && publicUrl.startsWith("https://")),
    },
    retention: {
      jobs: {
        doneMs: (p.JOB_RETENTION_HOURS ?? 24) * HOUR_MS,
        deadMs: (p.DEAD_JOB_RETENTION_DAYS ?? 14) * DAY_MS,
      },
      webhooksMs: (p.WEBHOOK_RETENTION_DAYS ?? 30) * DAY_MS,
      sentMessagesMs: (p.SENT_MESSAGE_RETENTION_DAYS ?? 30) * DAY_MS,
      linksMs: (p.LINK_RETENTION_DAYS ?? 30) * DAY_MS,
      realtimeIndexMs: (p.REALTIME_INDEX_DAYS ?? 30) * DAY_MS,
      trackingMs: (p.TRACKING_RETENTION_DAYS ?? 90) * DAY_MS,
      housekeepingEveryMs: (p.HOUSEKEEPING_INTERVAL_MINUTES ?? 15) * 60_000,
    },
    idempotency: {
      ttlMs: (p.IDEMPOTENCY_KEY_HOURS ?? 24) * HOUR_MS,
      waitMs: (p.IDEMPOTENCY_WAIT_SECONDS ?? 30) * 1000,
    },
    scheduledSend: { maxAheadMs: (p.SCHEDULE_MAX_DAYS ?? 90) * DAY_MS },
    emailCache: {
      maxBytes: (p.EMAIL_CACHE_MB ?? 64) * MIB,
      maxBytesPerAccount: Math.min(p.EMAIL_CACHE_ACCOUNT_MB ?? 8, p.EMAIL_CACHE_MB ?? 64) * MIB,
      revalidate: (p.EMAIL_CACHE_REVALIDATE ?? "on-change") as "on-change" | "each",
    },
    maxMessageBytes: (p.MAX_MESSAGE_MB ?? 150) * MIB,
    tracking: { eventsPerMinute: p.TRACKING_EVENTS_PER_MINUTE ?? 60 },
  };
}

const MIB = 1024 * 1024;

function redactIfSecret(name: string, raw: string): string {
  if (name === "MAILROOM_ENCRYPTION_KEY") return "<redacted>";
  return raw.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:<redacted>@");
}
