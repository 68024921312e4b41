import type { Kysely } from "kysely";
import type { Database, NotifyDeliveryTable } from "../schema.ts";

export type NotifyDeliveryRow = NotifyDeliveryTable;

export class NotifyDeliveryRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(linkId: string): Promise<NotifyDeliveryRow | undefined> {
    return this.db
      .selectFrom("notify_deliveries")
      .selectAll()
      .where("link_id", "=", linkId)
      .executeTakeFirst();
  }

  /** The callbacks of these links (for an account's history on the dashboard). */
  async findMany(linkIds: readonly string[]): Promise<NotifyDeliveryRow[]> {
    if (linkIds.length === 0) return [];
    return this.db.selectFrom("notify_deliveries").selectAll().where("link_id", "in", linkIds).execute();
  }

  /** Counts one more attempt of a pending callback (creating its row); undefined once it is settled. */
  async startAttempt(linkId: string, at: number): Promise<NotifyDeliveryRow | undefined> {
    await this.db
      .insertInto("notify_deliveries")
      .values({
        link_id: linkId,
        status: "pending",
        attempts: 0,
        last_status_code: null,
        last_error: null,
        last_response_excerpt: null,
        next_attempt_at: at,
        delivered_at: null,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.column("link_id").doNothing())
      .execute();
    return this.db
      .updateTable("notify_deliveries")
      .set((eb) => ({ attempts: eb("attempts", "+", 1), updated_at: at }))
      .where("link_id", "=", linkId)
      .where("status", "=", "pending")
      .returningAll()
      .executeTakeFirst();
  }

  async recordOutcome(
    linkId: string,
    outcome: Pick<
      NotifyDeliveryRow,
      | "status"
      | "last_status_code"
      | "last_error"
      | "last_response_excerpt"
      | "next_attempt_at"
      | "delivered_at"
      | "updated_at"
    >,
  ): Promise<void> {
    await this.db.updateTable("notify_deliveries").set(outcome).where("link_id", "=", linkId).execute();
  }
}
