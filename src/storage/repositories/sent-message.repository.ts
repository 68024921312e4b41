import type { Kysely } from "kysely";
import { PreparedQuery } from "../prepared.ts";
import type { Database, SentMessageTable } from "../schema.ts";

export type SentMessageRow = SentMessageTable;

/** Written on every send, before Graph's `/send`: compiled once. */
const recordSent = new PreparedQuery(
  4,
  (db, accountId: string, messageKey: string, trackingId: string, sentAt: number) =>
    db
      .insertInto("sent_messages")
      .values({ account_id: accountId, message_key: messageKey, tracking_id: trackingId, sent_at: sentAt })
      .onConflict((oc) =>
        oc.columns(["account_id", "message_key"]).doUpdateSet({ tracking_id: trackingId, sent_at: sentAt }),
      ),
);

/** All SQL of the sent-mail log: what Mailroom's API sent, for `origin` / `tracking_id` on mail_sent. */
export class SentMessageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records (or re-records) a send; idempotent per account and message. */
  async record(row: SentMessageRow): Promise<void> {
    await recordSent.execute(this.db, row.account_id, row.message_key, row.tracking_id, row.sent_at);
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
