// Builds a real Mailroom (real database, real services) for app.inject() tests, with logs captured.
import { lookup as dnsLookup } from "node:dns";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { type BuildOptions, buildServices, type Services } from "../../src/app/services.ts";
import { type Config, loadConfig } from "../../src/config/config.ts";
import { buildApp } from "../../src/http/app.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createTestDatabase, type TestDatabase } from "./databases.ts";

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    callback();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

/** A documentation address (TEST-NET-1): public to the destination policy, never reached. */
export const EXAMPLE_ADDRESS = "192.0.2.10";

/**
 * DNS for tests, which run offline: example names (example.com, *.example, …) resolve to a public
 * documentation address, `.invalid` names do not exist, anything else (localhost, IP literals) goes
 * to the system resolver.
 */
export const testLookup = ((hostname: string, options: unknown, callback: unknown) => {
  const done = (typeof options === "function" ? options : callback) as (
    error: NodeJS.ErrnoException | null,
    address: string | { address: string; family: number }[],
    family?: number,
  ) => void;
  const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
  const name = hostname.toLowerCase().replace(/\.$/, "");
  if (/(^|\.)example(\.(com|org|net))?$/.test(name))
    return process.nextTick(() =>
      all ? done(null, [{ address: EXAMPLE_ADDRESS, family: 4 }]) : done(null, EXAMPLE_ADDRESS, 4),
    );
  if (name.endsWith(".invalid"))
    return process.nextTick(() =>
      done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), ""),
    );
  return (dnsLookup as (h: string, o: unknown, c: unknown) => void)(hostname, options, callback);
}) as unknown as typeof dnsLookup;

/**
 * testLookup, except for the names in `rebound`, which resolve to the address the test puts there:
 * a name that passed the check at creation and resolves elsewhere at delivery (DNS rebinding).
 */
export function reboundLookup(rebound: ReadonlyMap<string, string>): typeof dnsLookup {
  return ((hostname: string, options: unknown, callback: unknown) => {
    const address = rebound.get(hostname);
    if (address === undefined)
      return (testLookup as (h: string, o: unknown, c: unknown) => void)(hostname, options, callback);
    const done = callback as (e: null, a: { address: string; family: number }[] | string, f?: number) => void;
    const all = (options as { all?: boolean }).all;
    process.nextTick(() => (all ? done(null, [{ address, family: 4 }]) : done(null, address, 4)));
  }) as unknown as typeof dnsLookup;
}

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  database: TestDatabase;
  logs: LogCapture;
  apiKey: string;
  dataDir: string;
  dispose(): Promise<void>;
}

export async function createTestApp(
  dialect: "sqlite" | "postgres" = "sqlite",
  env: Record<string, string> = {},
  options: {
    routes?: (app: FastifyInstance) => Promise<void>;
    jobs?: { pollIntervalMs?: number; leaseMs?: number };
    webhooks?: BuildOptions["webhooks"];
    /** The time every service reads (see test/support/clock.ts); default the system clock. */
    clock?: Clock;
    limits?: BuildOptions["limits"];
    fetch?: typeof fetch;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(dialect);
  const dataDir = mkdtempSync(join(tmpdir(), "mailroom-data-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    SANDBOX: "off",
    DATABASE_URL:
      database.config.kind === "postgres" ? database.config.url : `sqlite://${database.sqlitePath}`,
    LOG_LEVEL: "debug",
    // Most suites change mailboxes in the sandbox behind Mailroom's back (mail delivered, messages
    // edited) and read them at once, with realtime not polling: every read asks Graph. The default,
    // on-change, has its own suites (test/email-cache.test.ts, test/scaled-email-cache.test.ts).
    EMAIL_CACHE_REVALIDATE: "each",
    ...env,
  });
  const logs = new LogCapture();
  const services = await buildServices(config, createLogger({ level: "debug", destination: logs }), {
    ...(options.jobs ? { jobs: options.jobs } : {}),
    webhooks: { lookup: testLookup, ...options.webhooks },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const app = await buildApp(services, options.routes ? { plugins: [options.routes] } : {});
  await app.ready();
  const { key } = await services.apiKeys.create("test");
  return {
    app,
    services,
    config,
    database,
    logs,
    apiKey: key,
    dataDir,
    async dispose() {
      await app.close();
      await services.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
