// What a webhook delivery job reads: the delivery with its webhook and event, in one statement, and on
// PostgreSQL the same read joined to the attempt's own UPDATE (a data-modifying CTE, which SQLite
// lacks), so a delivery run costs one round trip before its POST instead of two.
import { type Kysely, PostgresAdapter, type QueryCreator, sql } from "kysely";
import { PreparedQuery } from "../prepared.ts";
import type { Database, WebhookDeliveryTable, WebhookEventTable, WebhookTable } from "../schema.ts";

type WebhookDeliveryRow = WebhookDeliveryTable;
type WebhookEventRow = WebhookEventTable;
type WebhookRow = WebhookTable;

export interface DeliveryToSend {
  delivery: WebhookDeliveryRow;
  webhook: WebhookRow | undefined;
  event: WebhookEventRow | undefined;
}

/** Whether `db` (a database or a transaction) is PostgreSQL. */
export function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

const PART_COLUMNS = [
  "w.id as w_id",
  "w.source as w_source",
  "w.name as w_name",
  "w.request_url as w_request_url",
  "w.format as w_format",
  "w.account_ids as w_account_ids",
  "w.enabled as w_enabled",
  "w.headers as w_headers",
  "w.events as w_events",
  "w.data as w_data",
  "w.secret as w_secret",
  "w.previous_secret as w_previous_secret",
  "w.previous_secret_expires_at as w_previous_secret_expires_at",
  "w.created_at as w_created_at",
  "w.updated_at as w_updated_at",
  "e.id as e_id",
  "e.type as e_type",
  "e.source as e_source",
  "e.account_id as e_account_id",
  "e.payload as e_payload",
  "e.created_at as e_created_at",
] as const;

export const deliveryWithParts = new PreparedQuery(1, (db, id: string) =>
  db
    .selectFrom("webhook_deliveries as d")
    .leftJoin("webhooks as w", "w.id", "d.webhook_id")
    .leftJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select(PART_COLUMNS)
    .where("d.id", "=", id),
);

/** Counts an attempt on a delivery still pending in `round`; returns the updated row. */
function attempt(db: QueryCreator<Database>, id: string, round: number, at: number) {
  return db
    .updateTable("webhook_deliveries")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), updated_at: at }))
    .where("id", "=", id)
    .where("round", "=", round)
    .where("status", "=", "pending")
    .returningAll();
}

export const startAttempt = new PreparedQuery(3, attempt);

/** PostgreSQL only: the attempt's UPDATE … RETURNING, joined to the webhook and the event. */
export const attemptWithParts = new PreparedQuery(3, (db, id: string, round: number, at: number) =>
  db
    .with("d", (qb) => attempt(qb, id, round, at))
    .selectFrom("d")
    .leftJoin("webhooks as w", "w.id", "d.webhook_id")
    .leftJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select(PART_COLUMNS),
);

/** Splits a joined row into the delivery and its (possibly gone) webhook and event. */
export function splitParts(row: Record<string, unknown>): DeliveryToSend {
  const { w_id, e_id, ...rest } = row;
  const delivery = {} as Record<string, unknown>;
  const webhook = {} as Record<string, unknown>;
  const event = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(rest)) {
    if (key.startsWith("w_")) webhook[key.slice(2)] = value;
    else if (key.startsWith("e_")) event[key.slice(2)] = value;
    else delivery[key] = value;
  }
  return {
    delivery: delivery as unknown as WebhookDeliveryRow,
    webhook: w_id === null ? undefined : ({ ...webhook, id: w_id } as unknown as WebhookRow),
    event: e_id === null ? undefined : ({ ...event, id: e_id } as unknown as WebhookEventRow),
  };
}

/**
 * PostgreSQL only: the first attempts of several deliveries pending in `round`, joined to their
 * webhooks and events, in one statement (`ids` is one array parameter, so the statement keeps its
 * shape and its name whatever the batch's size).
 */
export const firstAttemptsWithParts = new PreparedQuery(3, (db, ids: string[], round: number, at: number) =>
  db
    .with("d", (qb) =>
      qb
        .updateTable("webhook_deliveries")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), updated_at: at }))
        .where(sql<boolean>`id = any(${ids})`)
        .where("round", "=", round)
        .where("status", "=", "pending")
        .where("attempts", "=", 0)
        .returningAll(),
    )
    .selectFrom("d")
    .leftJoin("webhooks as w", "w.id", "d.webhook_id")
    .leftJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select(PART_COLUMNS),
);

/** SQLite: the first attempts of several deliveries pending in `round` (built per call: a list). */
export async function startFirstAttemptsSqlite(
  db: Kysely<Database>,
  ids: string[],
  round: number,
  at: number,
): Promise<DeliveryToSend[]> {
  const updated = await db
    .updateTable("webhook_deliveries")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), updated_at: at }))
    .where("id", "in", ids)
    .where("round", "=", round)
    .where("status", "=", "pending")
    .where("attempts", "=", 0)
    .returning("id")
    .execute();
  if (updated.length === 0) return [];
  const rows = await db
    .selectFrom("webhook_deliveries as d")
    .leftJoin("webhooks as w", "w.id", "d.webhook_id")
    .leftJoin("webhook_events as e", "e.id", "d.event_id")
    .selectAll("d")
    .select(PART_COLUMNS)
    .where(
      "d.id",
      "in",
      updated.map((row) => row.id),
    )
    .execute();
  return rows.map((row) => splitParts(row));
}

/** PostgreSQL: `ids` is one array parameter, so the statement keeps one shape (and name). */
const recordOutcomesPg = new PreparedQuery(
  9,
  (
    db,
    ids: string[],
    round: number,
    status: WebhookDeliveryRow["status"],
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
      .where(sql<boolean>`id = any(${ids})`)
      .where("round", "=", round),
);

/** The same outcome for several deliveries of `round`: one statement (named on PostgreSQL). */
export async function recordOutcomes(
  db: Kysely<Database>,
  ids: string[],
  round: number,
  outcome: Pick<
    WebhookDeliveryRow,
    | "status"
    | "last_status_code"
    | "last_error"
    | "last_response_excerpt"
    | "next_attempt_at"
    | "delivered_at"
    | "updated_at"
  >,
): Promise<void> {
  if (!isPostgres(db)) {
    await db
      .updateTable("webhook_deliveries")
      .set(outcome)
      .where("id", "in", ids)
      .where("round", "=", round)
      .execute();
    return;
  }
  await recordOutcomesPg.execute(
    db,
    ids,
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
