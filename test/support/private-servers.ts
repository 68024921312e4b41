// Servers a test owns and may stop and restart: a Redis with an append-only file and a PostgreSQL
// cluster, each on a free port with its data in a temp dir. The shared Redis and PostgreSQL are never
// stopped (other test files use them at the same time).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./connect-harness.ts";
import type { TestDatabase } from "./databases.ts";
import { stopChild } from "./fleet.ts";
import { until } from "./until.ts";

export interface PrivateServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM: Redis writes its append-only file, PostgreSQL shuts down fast). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

/** A Redis of this test's own (never the shared one), persisting to an append-only file in a temp dir. */
export async function startPrivateRedis(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), "mailroom-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: PrivateServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const started = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", dir, "--save", ""],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      child = started;
      let output = "";
      started.stdout?.on("data", (d) => (output += d));
      await until(
        "the private Redis to accept connections",
        () => {
          if (started.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
          return /Ready to accept connections/.test(output);
        },
        { timeoutMs: 10_000, intervalMs: 20, detail: () => output },
      );
    },
    async stop() {
      if (child) await stopChild(child, "SIGTERM");
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** Runs a PostgreSQL tool as the postgres user (initdb and the server refuse to run as root). */
function asPostgres(args: string[]): void {
  const result = spawnSync("runuser", ["-u", "postgres", "--", ...args], { encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`${args.join(" ")} failed (${result.status}): ${result.stdout}\n${result.stderr}`);
}

/** A PostgreSQL cluster of this test's own on a free port, with one database; never the shared server. */
export async function startPrivatePostgres(): Promise<PrivateServer & { database: TestDatabase }> {
  const dir = mkdtempSync(join(tmpdir(), "mailroom-pg-"));
  chmodSync(dir, 0o755);
  chownSync(dir, ...postgresIds());
  const port = await freePort();
  asPostgres([`${PG_BIN}/initdb`, "-D", `${dir}/data`, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const start = async () =>
    asPostgres([
      `${PG_BIN}/pg_ctl`,
      "-D",
      `${dir}/data`,
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      `${dir}/log`,
      "-w",
      "start",
    ]);
  const stop = async () => asPostgres([`${PG_BIN}/pg_ctl`, "-D", `${dir}/data`, "-m", "fast", "-w", "stop"]);
  await start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query("create database mailroom");
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:${port}/mailroom`;
  return {
    url,
    port,
    start,
    stop,
    database: { config: { kind: "postgres", url }, drop: async () => {} },
    async dispose() {
      await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresIds(): [number, number] {
  const result = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const group = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  return [Number(result.stdout.trim()), Number(group.stdout.trim())];
}
