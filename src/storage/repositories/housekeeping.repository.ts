import type { Kysely, SelectQueryBuilder } from "kysely";
import type { Database } from "../schema.ts";

/**
 * The retention deletes (docs/adr/0006-retention.md). Each call deletes at most `limit` rows in one
 * short statement, choosing them through an index on the column it tests (migration 0016), so no
 * statement holds SQLite's write lock, or PostgreSQL row locks, for long; the housekeeping job loops
 * and yields between calls. Each returns how many rows it deleted.
 */
export class HousekeepingRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Webhook deliveries whose last attempt is final (delivered, failed) and older than `before`. */
  async deleteFinalWebhookDeliveries(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("webhook_deliveries")
      .select("id")
      .where("status", "in", ["delivered", "failed"])
      .where("updated_at", "<", before)
      .limit(limit);
    return count(await this.db.deleteFrom("webhook_deliveries").where("id", "in", ids).executeTakeFirst());
  }

  /**
   * Webhook events published before `before` that no delivery refers to any more: an event with a
   * delivery still pending (or replayed) stays, so a retry always finds its payload.
   */
  async deleteWebhookEvents(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("webhook_events as e")
      .select("e.id")
      .where("e.created_at", "<", before)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom("webhook_deliveries as d").select("d.id").whereRef("d.event_id", "=", "e.id"))),
      )
      .limit(limit);
    return count(await this.db.deleteFrom("webhook_events").where("id", "in", ids).executeTakeFirst());
  }

  /** Account events (connected, deleted, …) recorded before `before`. */
  async deleteAccountEvents(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("account_events")
      .select("id")
      .where("created_at", "<", before)
      .limit(limit);
    return count(await this.db.deleteFrom("account_events").where("id", "in", ids).executeTakeFirst());
  }

  /** notify_url deliveries whose last attempt is final and older than `before`. */
  async deleteFinalNotifyDeliveries(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("notify_deliveries")
      .select("link_id")
      .where("status", "in", ["delivered", "failed"])
      .where("updated_at", "<", before)
      .limit(limit);
    return count(
      await this.db.deleteFrom("notify_deliveries").where("link_id", "in", ids).executeTakeFirst(),
    );
  }

  /** Hosted links expired before `before`, unless their notify_url callback is still being retried. */
  async deleteExpiredHostedLinks(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("hosted_links as l")
      .select("l.id")
      .where("l.expires_at", "<", before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("notify_deliveries as n")
              .select("n.link_id")
              .whereRef("n.link_id", "=", "l.id")
              .where("n.status", "=", "pending"),
          ),
        ),
      )
      .limit(limit);
    return count(await this.db.deleteFrom("hosted_links").where("id", "in", ids).executeTakeFirst());
  }

  /** Sign-in attempts (state, nonce, encrypted PKCE verifier) past their expiry: useless, and secret. */
  async deleteExpiredAuthAttempts(now: number, limit: number): Promise<number> {
    const ids = this.db.selectFrom("auth_attempts").select("id").where("expires_at", "<", now).limit(limit);
    return count(await this.db.deleteFrom("auth_attempts").where("id", "in", ids).executeTakeFirst());
  }

  /** Dashboard sessions past their absolute expiry (idle ones are refused, and reach it in time). */
  async deleteExpiredSessions(now: number, limit: number): Promise<number> {
    const ids = this.db.selectFrom("admin_sessions").select("id").where("expires_at", "<=", now).limit(limit);
    return count(await this.db.deleteFrom("admin_sessions").where("id", "in", ids).executeTakeFirst());
  }

  /** Setup and invite links used, or expired, before `before`. */
  async deleteOldInvites(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("admin_invites")
      .select("id")
      .where((eb) => eb.or([eb("used_at", "<", before), eb("expires_at", "<", before)]))
      .limit(limit);
    return count(await this.db.deleteFrom("admin_invites").where("id", "in", ids).executeTakeFirst());
  }

  /** The sent-mail log's rows sent before `before`. */
  async deleteSentMessages(before: number, limit: number): Promise<number> {
    return this.deleteMessageRows(
      "sent_messages",
      this.db
        .selectFrom("sent_messages")
        .select(["account_id", "message_key"])
        .where("sent_at", "<", before)
        .limit(limit),
    );
  }

  /** Opens and clicks recorded before `before`. */
  async deleteTrackingEvents(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("tracking_events")
      .select("id")
      .where("occurred_at", "<", before)
      .limit(limit);
    return count(await this.db.deleteFrom("tracking_events").where("id", "in", ids).executeTakeFirst());
  }

  /** Tracked sends sent before `before`: their pixel and links then record nothing (links still redirect). */
  async deleteTrackedEmails(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("tracked_emails")
      .select("tracking_id")
      .where("sent_at", "<", before)
      .limit(limit);
    return count(
      await this.db.deleteFrom("tracked_emails").where("tracking_id", "in", ids).executeTakeFirst(),
    );
  }

  /** Idempotency keys that expired before `before` (their answers are replayed no more). */
  async deleteExpiredIdempotencyKeys(before: number, limit: number): Promise<number> {
    const ids = this.db
      .selectFrom("idempotency_keys")
      .select("id")
      .where("expires_at", "<", before)
      .limit(limit);
    return count(await this.db.deleteFrom("idempotency_keys").where("id", "in", ids).executeTakeFirst());
  }

  /** Realtime index rows of mail received before `before` (outside the window). */
  async deleteRealtimeOutsideWindow(before: number, limit: number): Promise<number> {
    return this.deleteMessageRows(
      "realtime_messages",
      this.db
        .selectFrom("realtime_messages")
        .select(["account_id", "message_key"])
        .where("received_at", "<", before)
        .limit(limit),
    );
  }

  /** Realtime index rows of messages gone (deleted, or moved out of sight) before `before`. */
  async deleteRealtimeGone(before: number, limit: number): Promise<number> {
    return this.deleteMessageRows(
      "realtime_messages",
      this.db
        .selectFrom("realtime_messages")
        .select(["account_id", "message_key"])
        .where("gone_at", "is not", null)
        .where("gone_at", "<", before)
        .limit(limit),
    );
  }

  /** Deletes the rows (keyed by account and message) that `keys` selects. */
  private async deleteMessageRows(
    table: "sent_messages" | "realtime_messages",
    keys: SelectQueryBuilder<
      Database,
      "sent_messages" | "realtime_messages",
      { account_id: string; message_key: string }
    >,
  ): Promise<number> {
    return count(
      await this.db
        .deleteFrom(table)
        .where(({ eb, refTuple }) =>
          eb(refTuple("account_id", "message_key"), "in", keys.$asTuple("account_id", "message_key")),
        )
        .executeTakeFirst(),
    );
  }
}

function count(result: { numDeletedRows?: bigint }): number {
  return Number(result.numDeletedRows ?? 0);
}
