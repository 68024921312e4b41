// A digest of every table's rows, to prove that a rejected request stored nothing. Columns that
// background work changes on its own (the job runner's leases, token refresh bookkeeping, an API
// key's last use, the email cache's change counter) are left out, so the digest changes only when a
// request stores or deletes data.
import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";

/** Per table, the columns that change without a request storing anything. */
const VOLATILE: Record<string, ReadonlySet<string>> = {
  jobs: new Set([
    "status",
    "run_at",
    "attempts",
    "locked_by",
    "locked_until",
    "last_error",
    "updated_at",
    "finished_at",
  ]),
  api_keys: new Set(["last_used_at"]),
  // The email cache's change counter (ADR 0008): it moves with every Graph call that may change the
  // mailbox, also when a request that made one ends in a 4xx (a send refused at `/send` created its
  // draft and deleted it again), and with realtime's rounds. It stores nothing of the request.
  realtime_accounts: new Set(["mail_version"]),
  accounts: new Set([
    "access_token",
    "access_token_expires_at",
    "refresh_token",
    "last_refreshed_at",
    "refresh_lock_owner",
    "refresh_lock_until",
    "refresh_failures",
    "refresh_retry_at",
    "updated_at",
  ]),
};

export interface DbSnapshot {
  /** table → row count and a digest of its rows. */
  tables: Record<string, { rows: number; digest: string }>;
}

export async function snapshotDb<DB>(db: Kysely<DB>, dialect: "sqlite" | "postgres"): Promise<DbSnapshot> {
  const names =
    dialect === "sqlite"
      ? (
          await sql<{
            name: string;
          }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)
        ).rows.map((r) => r.name)
      : (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(
            db,
          )
        ).rows.map((r) => r.name);
  const tables: DbSnapshot["tables"] = {};
  for (const name of names.sort()) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(db)).rows;
    const volatile = VOLATILE[name] ?? new Set<string>();
    const lines = rows
      .map((row) =>
        JSON.stringify(
          Object.keys(row)
            .filter((column) => !volatile.has(column))
            .sort()
            .map((column) => [column, normalise(row[column])]),
        ),
      )
      .sort();
    tables[name] = { rows: rows.length, digest: createHash("sha256").update(lines.join("\n")).digest("hex") };
  }
  return { tables };
}

function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** The tables whose rows differ, for an assertion message. */
export function changedTables(before: DbSnapshot, after: DbSnapshot): string[] {
  const names = new Set([...Object.keys(before.tables), ...Object.keys(after.tables)]);
  return [...names].filter(
    (name) =>
      before.tables[name]?.digest !== after.tables[name]?.digest ||
      before.tables[name]?.rows !== after.tables[name]?.rows,
  );
}
