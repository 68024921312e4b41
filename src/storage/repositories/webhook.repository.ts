import type { Kysely } from "kysely";
import { PreparedQuery, rowOf } from "../prepared.ts";
import {
  attemptWithParts,
  type DeliveryToSend,
  deliveryWithParts,
  firstAttemptsWithParts,
  isPostgres,
  recordOutcomes,
  splitParts,
  startAttempt,
  startFirstAttemptsSqlite,
} from "./delivery-to-send.queries.ts";

export type { DeliveryToSend };

import type { Database, WebhookDeliveryTable, WebhookEventTable, WebhookTable } from "../schema.ts";

export type WebhookRow = WebhookTable;
export type WebhookEventRow = WebhookEventTable;
export type WebhookDeliveryRow = WebhookDeliveryTable;

/** Keyset position in a listing ordered by (created_at, id). */
export interface PageAfter {
  createdAt: number;
  id: string;
}

/** All SQL of outgoing webhooks: endpoints, accepted events (the outbox) and deliveries. */
export class WebhookRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The same queries inside a unit of work. */
  inTransaction(tx: Kysely<Database>): WebhookRepository {
    return new WebhookRepository(tx);
  }

  async insert(row: WebhookRow): Promise<void> {
    await this.db.insertInto("webhooks").values(row).execute();
  }

  async findById(id: string): Promise<WebhookRow | undefined> {
    return webhookById.first(this.db, id);
  }

  async page(limit: number, after: PageAfter | undefined): Promise<WebhookRow[]> {
    let query = this.db.selectFrom("webhooks").selectAll();
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb("created_at", ">", after.createdAt),
          eb.and([eb("created_at", "=", after.createdAt), eb("id", ">", after.id)]),
        ]),
      );
    }
    return query.orderBy("created_at").orderBy("id").limit(limit).execute();
  }

  /** Enabled webhooks of a source; the caller filters by event and account (both are JSON lists). */
  async enabledBySource(source: WebhookRow["source"]): Promise<WebhookRow[]> {
    return this.db
      .selectFrom("webhooks")
      .selectAll()
      .where("source", "=", source)
      .where("enabled", "=", 1)
      .orderBy("created_at")
      .execute();
  }

  /** Deletes the webhook and its deliveries; queued delivery jobs then find nothing and end. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("webhook_deliveries").where("webhook_id", "=", id).execute();
      const result = await trx.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async rotateSecret(
    id: string,
    update: { secret: string; previousSecret: string; previousExpiresAt: number; at: number },
  ): Promise<void> {
    await this.db
      .updateTable("webhooks")
      .set({
        secret: update.secret,
        previous_secret: update.previousSecret,
        previous_secret_expires_at: update.previousExpiresAt,
        updated_at: update.at,
      })
      .where("id", "=", id)
      .execute();
  }

  /** Stores the events whose ids are not known yet, in one statement; resolves with the ids it stored. */
  async insertEvents(rows: readonly WebhookEventRow[]): Promise<Set<string>> {
    const stored = new Set<string>();
    for (const chunk of chunks(rows)) {
      const inserted = await this.db
        .insertInto("webhook_events")
        .values(chunk)
        .onConflict((oc) => oc.column("id").doNothing())
        .returning("id")
        .execute();
      for (const row of inserted) stored.add(row.id);
    }
    return stored;
  }

  /** Inserts new deliveries (of events stored in this transaction, so none exists yet) in one statement. */
  async insertDeliveries(rows: readonly WebhookDeliveryRow[]): Promise<void> {
    for (const chunk of chunks(rows)) await this.db.insertInto("webhook_deliveries").values(chunk).execute();
  }

  async findEvent(id: string): Promise<WebhookEventRow | undefined> {
    return eventById.first(this.db, id);
  }

  /** Inserts the delivery of (event, webhook) unless it exists; returns the one that holds the pair. */
  async ensureDelivery(row: WebhookDeliveryRow): Promise<WebhookDeliveryRow> {
    const inserted = await insertDelivery.first(this.db, ...DELIVERY_COLUMNS.map((column) => row[column]));
    if (inserted) return inserted;
    const stored = await this.findDeliveryFor(row.event_id, row.webhook_id);
    if (!stored) throw new Error("Webhook delivery insert affected no row");
    return stored;
  }

  async countDeliveries(eventId: string): Promise<number> {
    const row = await this.db
      .selectFrom("webhook_deliveries")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("event_id", "=", eventId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async findDeliveryFor(eventId: string, webhookId: string): Promise<WebhookDeliveryRow | undefined> {
    return this.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("event_id", "=", eventId)
      .where("webhook_id", "=", webhookId)
      .executeTakeFirst();
  }

  async findDelivery(id: string): Promise<WebhookDeliveryRow | undefined> {
    return deliveryById.first(this.db, id);
  }

  /** A delivery with its webhook and event (either may be gone), in one read: what a delivery job needs. */
  async deliveryToSend(id: string): Promise<DeliveryToSend | undefined> {
    const row = await deliveryWithParts.first(this.db, id);
    return row ? splitParts(row) : undefined;
  }

  /**
   * Counts an HTTP attempt before it is made, so a crash mid-request still counts it, and only if the
   * delivery is still pending in this round (a replay or a finished delivery makes an old job a no-op);
   * reads the delivery with its webhook and event. Undefined when the round is over. One statement on
   * PostgreSQL.
   */
  async startAttemptToSend(id: string, round: number, at: number): Promise<DeliveryToSend | undefined> {
    if (isPostgres(this.db)) {
      const row = await attemptWithParts.first(this.db, id, round, at);
      return row ? splitParts(row) : undefined;
    }
    // SQLite: two statements in the same process, microseconds each.
    if (!(await startAttempt.first(this.db, id, round, at))) return undefined;
    return this.deliveryToSend(id);
  }

  /**
   * Counts the first attempt of each delivery still pending in `round` and not attempted yet (a batch
   * makes only first attempts), and reads them with their webhooks and events. One statement on
   * PostgreSQL.
   */
  async startFirstAttempts(ids: string[], round: number, at: number): Promise<DeliveryToSend[]> {
    if (ids.length === 0) return [];
    if (isPostgres(this.db))
      return (await firstAttemptsWithParts.rows(this.db, ids, round, at)).map((row) => splitParts(row));
    return startFirstAttemptsSqlite(this.db, ids, round, at);
  }

  /** Where each listed delivery stands (those that exist). */
  async deliveryStates(
    ids: string[],
  ): Promise<Pick<WebhookDeliveryRow, "id" | "status" | "round" | "attempts" | "next_attempt_at">[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom("webhook_deliveries")
      .select(["id", "status", "round", "attempts", "next_attempt_at"])
      .where("id", "in", ids)
      .execute();
  }

  async deliveryPage(
    webhookId: string,
    options: {
      limit: number;
      after: PageAfter | undefined;
      status: WebhookDeliveryRow["status"] | undefined;
    },
  ): Promise<WebhookDeliveryRow[]> {
    let query = this.db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", webhookId);
    if (options.status) query = query.where("status", "=", options.status);
    const after = options.after;
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb("created_at", ">", after.createdAt),
          eb.and([eb("created_at", "=", after.createdAt), eb("id", ">", after.id)]),
        ]),
      );
    }
    return query.orderBy("created_at").orderBy("id").limit(options.limit).execute();
  }

  /** The newest deliveries of a webhook, newest first (the dashboard's delivery log). */
  async recentDeliveries(webhookId: string, limit: number): Promise<WebhookDeliveryRow[]> {
    return this.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("webhook_id", "=", webhookId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  /** Each listed webhook's newest delivery (by creation), for the dashboard's webhook list. */
  async latestDeliveries(webhookIds: string[]): Promise<Map<string, WebhookDeliveryRow>> {
    const latest = new Map<string, WebhookDeliveryRow>();
    for (const id of webhookIds) {
      const [row] = await this.recentDeliveries(id, 1);
      if (row) latest.set(id, row);
    }
    return latest;
  }

  async findEvents(ids: string[]): Promise<WebhookEventRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom("webhook_events").selectAll().where("id", "in", ids).execute();
  }

  /** An account's newest events in the outbox, newest first. */
  async eventsOfAccount(accountId: string, limit: number): Promise<WebhookEventRow[]> {
    return this.db
      .selectFrom("webhook_events")
      .selectAll()
      .where("account_id", "=", accountId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
  }

  async failedSince(webhookId: string, since: number, limit: number): Promise<WebhookDeliveryRow[]> {
    return this.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("webhook_id", "=", webhookId)
      .where("status", "=", "failed")
      .where("created_at", ">=", since)
      .orderBy("created_at")
      .orderBy("id")
      .limit(limit)
      .execute();
  }

  async recordOutcome(id: string, round: number, outcome: DeliveryOutcome): Promise<void> {
    await recordOutcome.execute(
      this.db,
      id,
      round,
      outcome.status,
      outcome.last_status_code,
      outcome.last_error,
      outcome.last_response_excerpt,
      outcome.next_attempt_at,
      outcome.delivered_at,
      outcome.updated_at,
    );
  }

  /** Records the same outcome for several deliveries of `round` (a batch's delivered ones). */
  async recordOutcomes(ids: string[], round: number, outcome: DeliveryOutcome): Promise<void> {
    if (ids.length === 1) return this.recordOutcome(ids[0]!, round, outcome);
    if (ids.length > 1) await recordOutcomes(this.db, ids, round, outcome);
  }

  /** Starts a new round: pending again, attempts from zero. Returns the delivery with its new round. */
  async restart(id: string, at: number): Promise<WebhookDeliveryRow | undefined> {
    return this.db
      .updateTable("webhook_deliveries")
      .set((eb) => ({
        status: "pending",
        attempts: 0,
        round: eb("round", "+", 1),
        last_error: null,
        next_attempt_at: at,
        delivered_at: null,
        updated_at: at,
      }))
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
  }
}

export type DeliveryOutcome = Pick<
  WebhookDeliveryRow,
  | "status"
  | "last_status_code"
  | "last_error"
  | "last_response_excerpt"
  | "next_attempt_at"
  | "delivered_at"
  | "updated_at"
>;

// The statements every delivery runs (src/storage/prepared.ts).
const webhookById = new PreparedQuery(1, (db, id: string) =>
  db.selectFrom("webhooks").selectAll().where("id", "=", id),
);
const eventById = new PreparedQuery(1, (db, id: string) =>
  db.selectFrom("webhook_events").selectAll().where("id", "=", id),
);
const deliveryById = new PreparedQuery(1, (db, id: string) =>
  db.selectFrom("webhook_deliveries").selectAll().where("id", "=", id),
);
const recordOutcome = new PreparedQuery(
  9,
  (
    db,
    id: string,
    round: number,
    status: DeliveryOutcome["status"],
    lastStatusCode: number | null,
    lastError: string | null,
    excerpt: string | null,
    nextAttemptAt: number | null,
    deliveredAt: number | null,
    updatedAt: number,
  ) =>
    db
      .updateTable("webhook_deliveries")
      .set({
        status,
        last_status_code: lastStatusCode,
        last_error: lastError,
        last_response_excerpt: excerpt,
        next_attempt_at: nextAttemptAt,
        delivered_at: deliveredAt,
        updated_at: updatedAt,
      })
      .where("id", "=", id)
      .where("round", "=", round),
);
const DELIVERY_COLUMNS = [
  "id",
  "webhook_id",
  "event_id",
  "status",
  "attempts",
  "round",
  "last_status_code",
  "last_error",
  "last_response_excerpt",
  "next_attempt_at",
  "delivered_at",
  "created_at",
  "updated_at",
] as const satisfies readonly (keyof WebhookDeliveryRow)[];
const insertDelivery = new PreparedQuery(DELIVERY_COLUMNS.length, (db, ...values: unknown[]) =>
  db
    .insertInto("webhook_deliveries")
    .values(rowOf<WebhookDeliveryRow>(DELIVERY_COLUMNS, values))
    .onConflict((oc) => oc.columns(["event_id", "webhook_id"]).doNothing())
    .returningAll(),
);

/** Rows per multi-row INSERT: PostgreSQL takes at most 65,535 parameters a statement. */
const INSERT_CHUNK = 500;

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < rows.length; start += INSERT_CHUNK)
    out.push(rows.slice(start, start + INSERT_CHUNK));
  return out;
}
