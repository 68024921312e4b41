import type { Kysely } from "kysely";
import type { Database, ScheduledEmailTable } from "../schema.ts";

export type ScheduledEmailRow = ScheduledEmailTable;
export type ScheduledStatus = "scheduled" | "sending" | "sent" | "failed" | "cancelled";

/** All SQL of scheduled emails. Status changes are compare-and-set on the status they leave. */
export class ScheduledEmailRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ScheduledEmailRow): Promise<void> {
    await this.db.insertInto("scheduled_emails").values(row).execute();
  }

  async find(id: string): Promise<ScheduledEmailRow | undefined> {
    return this.db.selectFrom("scheduled_emails").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findByDraft(accountId: string, draftId: string): Promise<ScheduledEmailRow | undefined> {
    return this.db
      .selectFrom("scheduled_emails")
      .selectAll()
      .where("account_id", "=", accountId)
      .where("draft_id", "=", draftId)
      .executeTakeFirst();
  }

  /** One page by (send_at, id), after the cursor's position; optionally one account's. */
  async page(options: {
    accountId?: string | undefined;
    after?: { sendAt: number; id: string } | undefined;
    limit: number;
  }): Promise<ScheduledEmailRow[]> {
    let query = this.db.selectFrom("scheduled_emails").selectAll();
    if (options.accountId !== undefined) query = query.where("account_id", "=", options.accountId);
    const after = options.after;
    if (after)
      query = query.where((eb) =>
        eb.or([
          eb("send_at", ">", after.sendAt),
          eb.and([eb("send_at", "=", after.sendAt), eb("id", ">", after.id)]),
        ]),
      );
    return query.orderBy("send_at").orderBy("id").limit(options.limit).execute();
  }

  /** Moves the row from one of `from` to `to` with the given fields; false when it was elsewhere. */
  async transition(
    id: string,
    from: ScheduledStatus[],
    to: ScheduledStatus,
    fields: Partial<Pick<ScheduledEmailRow, "error" | "waiting_reason" | "attempts" | "sent_at">> & {
      updated_at: number;
    },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable("scheduled_emails")
      .set({ status: to, ...fields })
      .where("id", "=", id)
      .where("status", "in", from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Notes why a due send waits or what its last attempt met, without changing its status. */
  async note(
    id: string,
    fields: Pick<ScheduledEmailRow, "error" | "waiting_reason" | "updated_at">,
  ): Promise<void> {
    await this.db.updateTable("scheduled_emails").set(fields).where("id", "=", id).execute();
  }

  /** An account's schedules in these statuses (cancelling them, or resuming them after a reconnect). */
  async pendingOf(accountId: string, statuses: ScheduledStatus[]): Promise<ScheduledEmailRow[]> {
    return this.db
      .selectFrom("scheduled_emails")
      .selectAll()
      .where("account_id", "=", accountId)
      .where("status", "in", statuses)
      .execute();
  }
}
