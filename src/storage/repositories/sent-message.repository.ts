import type { Kysely } from "kysely";
import type { Database, SentMessageTable } from "../schema.ts";

export type SentMessageRow = SentMessageTable;

/** All SQL of the sent-mail log: what Mailroom's API sent, for `origin` / `tracking_id` on mail_sent. */
export class SentMessageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records (or re-records) a send; idempotent per account and message. */
  async record(row: SentMessageRow): Promise<void> {
    await this.db
      .insertInto("sent_messages")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["account_id", "message_key"])
          .doUpdateSet({ tracking_id: row.tracking_id, sent_at: row.sent_at }),
      )
      .execute();
  }

  async find(accountId: string, messageKey: string): Promise<SentMessageRow | undefined> {
    return this.db
      .selectFrom("sent_messages")
      .selectAll()
      .where("account_id", "=", accountId)
      .where("message_key", "=", messageKey)
      .executeTakeFirst();
  }

  async forget(accountId: string, messageKey: string): Promise<void> {
    await this.db
      .deleteFrom("sent_messages")
      .where("account_id", "=", accountId)
      .where("message_key", "=", messageKey)
      .execute();
  }
}
