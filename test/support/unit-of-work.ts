// Helpers for the unit-of-work tests: a failure injected inside a transaction by the database itself
// (a trigger refusing one kind of job row, the last write before the commit), and row counts.
import { type Kysely, sql } from "kysely";
import type { Storage } from "../../src/storage/db.ts";
import type { Database } from "../../src/storage/schema.ts";

/**
 * Makes every insert of a `kind` job fail until the returned function is called. The job is written
 * after the state change and its event rows, so the failure lands between the change and the commit.
 */
export async function failJobInserts(storage: Storage, kind: string): Promise<() => Promise<void>> {
  const name = `fail_${kind.replace(/\W/g, "_")}`;
  if (storage.dialect === "sqlite") {
    await sql
      .raw(
        `create trigger ${name} before insert on jobs when new.kind = '${kind}' begin select raise(abort, 'injected failure before commit'); end`,
      )
      .execute(storage.db);
    return async () => {
      await sql.raw(`drop trigger ${name}`).execute(storage.db);
    };
  }
  await sql
    .raw(
      `create function ${name}() returns trigger as $$ begin raise exception 'injected failure before commit'; end $$ language plpgsql`,
    )
    .execute(storage.db);
  await sql
    .raw(
      `create trigger ${name} before insert on jobs for each row when (new.kind = '${kind}') execute function ${name}()`,
    )
    .execute(storage.db);
  return async () => {
    await sql.raw(`drop trigger ${name} on jobs`).execute(storage.db);
    await sql.raw(`drop function ${name}()`).execute(storage.db);
  };
}

export async function countRows(
  db: Kysely<Database>,
  table: "account_events" | "webhook_events" | "webhook_deliveries" | "jobs" | "accounts",
  where: Record<string, string> = {},
): Promise<number> {
  let query = db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as("n"));
  for (const [column, value] of Object.entries(where))
    query = query.where(sql.ref(column), "=", value) as typeof query;
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}
