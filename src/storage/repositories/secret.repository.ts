import { type Kysely, sql } from "kysely";
import { type Database, SECRET_COLUMNS } from "../schema.ts";

export interface StoredSecret {
  table: string;
  keyColumn: string;
  column: string;
  rowKey: string;
  envelope: string;
}

/** Walks every encrypted column (for key rotation and the start-up key check). */
export class SecretRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async *all(batchSize = 500): AsyncGenerator<StoredSecret> {
    for (const { table, key, column } of SECRET_COLUMNS) {
      let after = "";
      for (;;) {
        const rows = await sql<{
          k: string;
          v: string;
        }>`select ${sql.ref(key)} as k, ${sql.ref(column)} as v from ${sql.table(
          table,
        )} where ${sql.ref(column)} is not null and ${sql.ref(key)} > ${after} order by ${sql.ref(key)} limit ${batchSize}`
          .execute(this.db)
          .then((r) => r.rows);
        for (const row of rows) yield { table, keyColumn: key, column, rowKey: row.k, envelope: row.v };
        if (rows.length < batchSize) break;
        after = rows[rows.length - 1]!.k;
      }
    }
  }

  /** Compare-and-swap so a concurrent writer's newer value is never overwritten by a rotation. */
  async replace(secret: StoredSecret, envelope: string): Promise<boolean> {
    const result =
      await sql`update ${sql.table(secret.table)} set ${sql.ref(secret.column)} = ${envelope} where ${sql.ref(
        secret.keyColumn,
      )} = ${secret.rowKey} and ${sql.ref(secret.column)} = ${secret.envelope}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }
}
