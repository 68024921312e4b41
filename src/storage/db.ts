// Opens the database for either dialect, applies migrations and answers readiness probes.
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import type PgModule from "pg";
import { migrationProvider } from "./migrations/index.ts";
import { forgetStatementName, statementName } from "./prepared.ts";
import type { Database } from "./schema.ts";
import { sqliteConnection } from "./sqlite-connection.ts";

export type DatabaseConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export class StorageError extends Error {
  constructor(
    message: string,
    readonly code: "unavailable" | "corrupt" | "foreign" | "readonly" | "migration_failed",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StorageError";
  }
}

export interface Storage {
  db: Kysely<Database>;
  dialect: "sqlite" | "postgres";
  /** Where the data lives, for operators (file path, or the PostgreSQL URL without password). */
  location: string;
  ping(): Promise<void>;
  /**
   * Equal to an earlier stamp only if nothing was committed to the database in between, by any
   * process, so what was read at that stamp may be served again from memory. Undefined when there is
   * no cheap way to tell (PostgreSQL) or a transaction is open: then read the database.
   */
  changeStamp(): string | undefined;
  /**
   * The unit of work: runs `fn` in one transaction and commits when it resolves, rolls back when it
   * throws. Pass `tx` to repositories (`new XRepository(tx)`) and to `queue.enqueue(…, {transaction:
   * tx})`, so the state change and the jobs that announce it commit together or not at all.
   */
  transaction<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

const requireModule = createRequire(import.meta.url);
let pgModule: typeof PgModule | undefined;

/** `pg` is loaded only when PostgreSQL is configured: the embedded default starts faster without it. */
function loadPg(): typeof PgModule {
  if (!pgModule) {
    pgModule = requireModule("pg") as typeof PgModule;
    // PostgreSQL returns int8 as strings by default; our int8 columns are epoch milliseconds, safe as numbers.
    pgModule.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
  }
  return pgModule;
}

const SQLITE_MAGIC = "SQLite format 3\u0000";

export function openStorage(config: DatabaseConfig): Storage {
  return config.kind === "sqlite" ? openSqlite(config.path) : openPostgres(config.url);
}

/** Creates `dir` if needed and checks it can be written, or explains how to fix it. */
export function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new StorageError(
      `The data directory ${dir} is not writable (${(cause as NodeJS.ErrnoException).code ?? "error"}). Fix its permissions or set DATA_DIR to a writable directory.`,
      "readonly",
      { cause },
    );
  }
}

function openSqlite(path: string): Storage {
  ensureWritableDir(dirname(path));
  if (existsSync(path)) checkSqliteHeader(path);
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(path);
    // Before anything writes (WAL mode rewrites the header): refuse another application's database.
    const tables = (
      sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    if (tables.length > 0 && !tables.includes("kysely_migration")) {
      sqlite.close();
      throw new StorageError(foreignMessage(path, tables), "foreign");
    }
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("busy_timeout = 5000");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
  } catch (cause) {
    if (cause instanceof StorageError) throw cause;
    throw new StorageError(
      `Cannot open the SQLite database at ${path}: ${(cause as Error).message}. It may be corrupt; restore it from a backup.`,
      "corrupt",
      { cause },
    );
  }
  const connection = sqliteConnection(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection.database }) });
  return {
    db,
    dialect: "sqlite",
    location: path,
    changeStamp: connection.changeStamp,
    async ping() {
      sqlite.prepare("select 1").get();
    },
    transaction: (fn) => db.transaction().execute(fn),
    migrate: () => migrate(db, path),
    async close() {
      await db.destroy();
    },
  };
}

function checkSqliteHeader(path: string): void {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(16);
    const read = readSync(fd, header, 0, 16, 0);
    if (read === 0) return; // empty file: SQLite initialises it
    if (read < 16 || header.toString("latin1") !== SQLITE_MAGIC) {
      throw new StorageError(
        `${path} is not a SQLite database (corrupt or a different kind of file). Mailroom did not touch it. Move it away or restore it from a backup.`,
        "corrupt",
      );
    }
  } finally {
    closeSync(fd);
  }
}

function openPostgres(url: string): Storage {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A client losing its connection (server restart, network cut) must not crash the process: the
  // failing query rejects on its own and the pool replaces the client.
  pool.on("error", () => {});
  pool.on("connect", (client) => {
    client.on("error", () => {});
    prepareNamedStatements(client);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const location = redactUrl(url);
  return {
    db,
    dialect: "postgres",
    location,
    // No cheap signal of another process's commit: every read goes to the server.
    changeStamp: () => undefined,
    async ping() {
      try {
        await sql`select 1`.execute(db);
      } catch (cause) {
        throw new StorageError(
          `PostgreSQL at ${location} is unreachable: ${(cause as Error).message}`,
          "unavailable",
          {
            cause,
          },
        );
      }
    },
    transaction: (fn) => db.transaction().execute(fn),
    migrate: () => migrate(db, location),
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Sends the prepared queries' statements (prepared.ts) by name, so the server parses and plans each
 * once per connection. A named statement the server refuses is run unnamed from then on: one prepared
 * before a migration changed the columns it answers with (SQLSTATE 0A000), or one the server does not
 * know (26000: a pooler in transaction mode, such as PgBouncer before 1.21, that sends the next use to
 * another server connection). It is retried at once when no transaction is open (the refused
 * statement did nothing); in a transaction, the transaction fails as any statement error fails it,
 * and its retry runs unnamed.
 */
function prepareNamedStatements(client: PgModule.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let inTransaction = false;
  const named = async (text: string, values: unknown, name: string) => {
    try {
      return await query({ name, text, values });
    } catch (error) {
      if (!isRefusedStatement(error)) throw error;
      forgetStatementName(text);
      if (inTransaction) throw error;
      return query(text, values);
    }
  };
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text === "string" && args.length <= 2) {
      if (/^(begin|start transaction)/i.test(text)) inTransaction = true;
      else if (/^(commit|rollback)$/i.test(text)) inTransaction = false;
      const name = statementName(text);
      if (name !== undefined) return named(text, values, name);
    }
    return query(...args);
  };
}

function isRefusedStatement(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return (code === "0A000" && /cached plan/.test(String(error))) || code === "26000";
}

async function migrate(db: Kysely<Database>, location: string): Promise<string[]> {
  await assertMailroomDatabase(db, location);
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    if (isUnavailable(error)) {
      throw new StorageError(
        `The database at ${location} is unreachable: ${(error as Error).message}`,
        "unavailable",
        {
          cause: error,
        },
      );
    }
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new StorageError(
      `Migration ${failed} failed on ${location}: ${(error as Error).message}`,
      "migration_failed",
      {
        cause: error,
      },
    );
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Refuse a database that holds tables but was never migrated by Mailroom: it belongs to something else. */
async function assertMailroomDatabase(db: Kysely<Database>, location: string): Promise<void> {
  let tables: string[];
  try {
    tables = (await db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name);
  } catch (cause) {
    if (isUnavailable(cause)) {
      throw new StorageError(
        `The database at ${location} is unreachable: ${(cause as Error).message}`,
        "unavailable",
        {
          cause,
        },
      );
    }
    throw new StorageError(
      `Cannot read the database at ${location}: ${(cause as Error).message}. It may be corrupt; restore it from a backup.`,
      "corrupt",
      { cause },
    );
  }
  const own = new Set(["kysely_migration", "kysely_migration_lock"]);
  if (tables.length > 0 && !tables.includes("kysely_migration")) {
    throw new StorageError(
      foreignMessage(
        location,
        tables.filter((t) => !own.has(t)),
      ),
      "foreign",
    );
  }
}

function foreignMessage(location: string, tables: string[]): string {
  return `The database at ${location} already holds tables that are not Mailroom's (${tables.slice(0, 5).join(", ")}). Mailroom did not touch them. Point DATABASE_URL or DATA_DIR at an empty or Mailroom database.`;
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
  "EHOSTUNREACH",
]);

/** Whether an error means "the database cannot be reached right now" (as opposed to a bad query). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageError) return error.code === "unavailable";
  const e = error as { code?: string; message?: string; errors?: unknown[] } | undefined;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.code && /^(08|57P)/.test(e.code)) return true; // connection exception / operator intervention
  if (Array.isArray(e.errors) && e.errors.some(isUnavailable)) return true; // AggregateError (IPv4+IPv6 connect)
  const message = e.message ?? "";
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|database is locked/i.test(
    message,
  );
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<invalid url>";
  }
}
