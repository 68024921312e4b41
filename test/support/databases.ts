// Real databases for tests: a temporary SQLite file, and a fresh PostgreSQL database per run on the
// server at 127.0.0.1:5432 (dropped afterwards). DIALECTS=sqlite,postgres selects which run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type DatabaseConfig, openStorage, type Storage } from "../../src/storage/db.ts";

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export type Dialect = "sqlite" | "postgres";

export function dialects(): Dialect[] {
  const list = (process.env.DIALECTS ?? "sqlite,postgres").split(",").map((d) => d.trim());
  return list.filter((d): d is Dialect => d === "sqlite" || d === "postgres");
}

export interface TestDatabase {
  config: DatabaseConfig;
  /** Raw location for tests that inspect the file. */
  sqlitePath?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(dialect: "sqlite" | "postgres"): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "mailroom-test-"));
    const path = join(dir, "mailroom.db");
    return {
      config: { kind: "sqlite", path },
      sqlitePath: path,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `mailroom_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    config: { kind: "postgres", url: url.toString() },
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A migrated Storage on a fresh database; call `dispose` in `after`. */
export async function createTestStorage(
  dialect: "sqlite" | "postgres",
): Promise<{ storage: Storage; database: TestDatabase; dispose(): Promise<void> }> {
  const database = await createTestDatabase(dialect);
  const storage = openStorage(database.config);
  await storage.migrate();
  return {
    storage,
    database,
    async dispose() {
      await storage.close();
      await database.drop();
    },
  };
}
