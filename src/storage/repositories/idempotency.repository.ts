import type { Kysely } from "kysely";
import type { Database, IdempotencyKeyTable } from "../schema.ts";

export type IdempotencyKeyRow = IdempotencyKeyTable;

/**
 * All SQL of idempotency keys. The unique constraint on (scope, idempotency_key) is the lock: the one
 * insert that succeeds owns the key, on SQLite and on PostgreSQL alike, across every process.
 */
export class IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts the row unless the key exists; true when this call created it (and so owns it). */
  async claim(row: IdempotencyKeyRow): Promise<boolean> {
    const result = await this.db
      .insertInto("idempotency_keys")
      .values(row)
      .onConflict((oc) => oc.columns(["scope", "idempotency_key"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async find(scope: string, key: string): Promise<IdempotencyKeyRow | undefined> {
    return this.db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("scope", "=", scope)
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
  }

  /** Takes over a running row whose lease lapsed (compare-and-set on the owner and lease as read). */
  async takeOver(
    row: Pick<IdempotencyKeyRow, "id" | "owner" | "locked_until">,
    owner: string,
    lockedUntil: number,
  ): Promise<boolean> {
    let query = this.db
      .updateTable("idempotency_keys")
      .set({ owner, locked_until: lockedUntil })
      .where("id", "=", row.id)
      .where("status", "=", "running")
      .where("locked_until", "=", row.locked_until);
    query = row.owner === null ? query.where("owner", "is", null) : query.where("owner", "=", row.owner);
    return Number((await query.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /** Extends the lease, or false when another process took the row over. */
  async extend(id: string, owner: string, lockedUntil: number): Promise<boolean> {
    const result = await this.db
      .updateTable("idempotency_keys")
      .set({ locked_until: lockedUntil })
      .where("id", "=", id)
      .where("owner", "=", owner)
      .where("status", "=", "running")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async saveCheckpoint(id: string, owner: string, checkpoint: string): Promise<void> {
    await this.db
      .updateTable("idempotency_keys")
      .set({ checkpoint })
      .where("id", "=", id)
      .where("owner", "=", owner)
      .execute();
  }

  async complete(id: string, owner: string, status: number, body: string): Promise<void> {
    await this.db
      .updateTable("idempotency_keys")
      .set({ status: "done", response_status: status, response_body: body, owner: null, locked_until: 0 })
      .where("id", "=", id)
      .where("owner", "=", owner)
      .execute();
  }

  /** Lets the next request with the key run again at once (the checkpoint stays for it). */
  async release(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable("idempotency_keys")
      .set({ owner: null, locked_until: 0 })
      .where("id", "=", id)
      .where("owner", "=", owner)
      .where("status", "=", "running")
      .execute();
  }

  /** Removes one expired row (so its key can be used afresh), if it is still expired. */
  async deleteExpired(id: string, now: number): Promise<void> {
    await this.db
      .deleteFrom("idempotency_keys")
      .where("id", "=", id)
      .where("expires_at", "<=", now)
      .execute();
  }
}
