// The one better-sqlite3 connection Kysely runs on, with two additions: prepared statements are
// reused, and the connection can say cheaply whether the database may have changed since a moment
// it names (`changeStamp`), so a read can be served from memory while nothing changed.
//
// SQLite's `PRAGMA data_version` changes whenever another connection — another Mailroom process,
// the CLI — commits (https://sqlite.org/pragma.html#pragma_data_version); it does not change for this
// connection's own commits, so every write statement prepared here counts too. A write counts when it
// is prepared, just before it runs, and also when it is rolled back: a spurious change only costs a
// read. While a transaction is open on the connection there is no stamp: its snapshot may be older
// than another process's commit, and its own writes are not committed yet.
import type SQLite from "better-sqlite3";

export interface SqliteConnection {
  /** The connection to hand Kysely's SqliteDialect. */
  database: SQLite.Database;
  /**
   * Equal to an earlier stamp only if nothing was committed in between, by this process or another;
   * undefined while a transaction is open.
   */
  changeStamp(): string | undefined;
}

/** Statements kept for reuse; Mailroom's queries come from a fixed set of shapes. */
const MAX_STATEMENTS = 500;

export function sqliteConnection(sqlite: SQLite.Database): SqliteConnection {
  const cache = new Map<string, SQLite.Statement>();
  let ownWrites = 0;
  // Kysely prepares every query anew; better-sqlite3 statements are reusable, and preparing is the
  // larger part of a small query's cost.
  const prepare = (source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = sqlite.prepare(source);
      if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    if (!statement.reader) ownWrites++;
    return statement;
  };
  const dataVersion = sqlite.prepare("pragma data_version").pluck();
  const database = new Proxy(sqlite, {
    get(target, property, receiver) {
      if (property === "prepare") return prepare;
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    database,
    changeStamp: () =>
      sqlite.inTransaction || !sqlite.open ? undefined : `${dataVersion.get() as number}:${ownWrites}`,
  };
}
