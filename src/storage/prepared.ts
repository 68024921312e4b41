// Queries of one fixed shape, built and compiled by Kysely once per database and then run with new
// arguments. Kysely builds and compiles every query anew on each call: for the short queries a busy
// job runner and delta poll run tens of times a second (a job claim, an account by id), that costs
// 40–100 µs, more than SQLite takes to run them.
//
// The query is built once with a marker in place of each argument; the compiled statement's
// parameters then say where each argument goes. So `build` must use its arguments only as values:
// never branch on them (undetectable: keep such queries built anew), compute with them or pass lists
// (refused when the template is made, as is an argument left out).
//
// On PostgreSQL the statement is also named (a server-side prepared statement, see `statementName`),
// so the server parses and plans it once per connection instead of on every run: for the delivery's
// attempt and outcome that was two thirds of the server's CPU for them.
import { createHash } from "node:crypto";
import { type Compilable, type CompiledQuery, type Kysely, PostgresAdapter, type QueryResult } from "kysely";
import type { Database } from "./schema.ts";

const MARKER = "\u0000mailroom-argument:";

type Slot = { argument: number } | { value: unknown };

interface Template<R> {
  compiled: CompiledQuery<R>;
  slots: Slot[];
}

export class PreparedQuery<A extends readonly unknown[], R> {
  /** One template per database (keyed by its adapter, which its transactions share). */
  private readonly templates = new WeakMap<object, Template<R>>();

  constructor(
    private readonly arity: A["length"],
    private readonly build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
  ) {}

  /** Runs the query on `db` (a database or a transaction) with these arguments. */
  execute(db: Kysely<Database>, ...args: A): Promise<QueryResult<R>> {
    const { compiled, slots } = this.template(db);
    const parameters = slots.map((slot) => ("argument" in slot ? args[slot.argument] : slot.value));
    return db.executeQuery({ ...compiled, parameters });
  }

  async rows(db: Kysely<Database>, ...args: A): Promise<R[]> {
    return (await this.execute(db, ...args)).rows;
  }

  async first(db: Kysely<Database>, ...args: A): Promise<R | undefined> {
    return (await this.execute(db, ...args)).rows[0];
  }

  /** Rows changed by an INSERT, UPDATE or DELETE. */
  async affected(db: Kysely<Database>, ...args: A): Promise<number> {
    return Number((await this.execute(db, ...args)).numAffectedRows ?? 0);
  }

  private template(db: Kysely<Database>): Template<R> {
    const key = db.getExecutor().adapter;
    let template = this.templates.get(key);
    if (!template) {
      template = prepare(this.arity, this.build(db, ...(markers(this.arity) as unknown as A)).compile());
      this.templates.set(key, template);
      if (key instanceof PostgresAdapter) nameStatement(template.compiled.sql);
    }
    return template;
  }
}

/** SQL text → the name it is prepared under on PostgreSQL connections (a few dozen at most). */
const statementNames = new Map<string, string>();

function nameStatement(text: string): void {
  if (!statementNames.has(text))
    statementNames.set(text, `mr_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`);
}

/**
 * The name a PostgreSQL connection prepares `text` under, when it is one of the prepared queries'
 * statements (db.ts hands the name to `pg`, which parses it once per connection).
 */
export function statementName(text: string): string | undefined {
  return statementNames.get(text);
}

/**
 * Runs `text` unnamed from now on in this process. A migration run by a newer process can change the
 * columns a prepared `SELECT *` or `RETURNING *` answers with; PostgreSQL then refuses the statement
 * prepared before ("cached plan must not change result type") rather than answer other columns.
 */
export function forgetStatementName(text: string): void {
  statementNames.delete(text);
}

function markers(arity: number): string[] {
  return Array.from({ length: arity }, (_, index) => `${MARKER}${index}`);
}

function prepare<R>(arity: number, compiled: CompiledQuery<R>): Template<R> {
  const used = new Set<number>();
  const slots = compiled.parameters.map((value): Slot => {
    if (typeof value !== "string" || !value.startsWith(MARKER)) return { value };
    const argument = Number(value.slice(MARKER.length));
    if (!Number.isInteger(argument) || argument >= arity || `${MARKER}${argument}` !== value)
      throw new Error(`A prepared query used an argument other than as a value: ${compiled.sql}`);
    used.add(argument);
    return { argument };
  });
  if (used.size !== arity)
    throw new Error(`A prepared query left an argument out of its parameters: ${compiled.sql}`);
  return { compiled, slots };
}

/**
 * The row of a prepared INSERT of fixed columns, built from its arguments (one per column, in
 * `columns`' order); the caller passes `columns.map((column) => row[column])`.
 */
export function rowOf<T>(columns: readonly (keyof T & string)[], values: readonly unknown[]): T {
  return Object.fromEntries(columns.map((column, index) => [column, values[index]])) as unknown as T;
}
