// The webhook domain's pure parts: API shapes of webhooks and deliveries, stored-row conversions,
// event names and ids. No I/O here.
import { createHash } from "node:crypto";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type {
  PageAfter,
  WebhookDeliveryRow,
  WebhookRow,
} from "../../storage/repositories/webhook.repository.ts";
import { decodeCursor } from "../pagination.ts";
import {
  type DataItem,
  SDK_EMAIL_DATA_KEYS,
  SDK_LIST_EVENTS,
  SDK_TRACKING_DATA_KEYS,
  type WebhookSource,
} from "./payload.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    /** `webhookId` names the endpoint (absent in jobs enqueued before it was added). */
    "webhooks.deliver": { deliveryId: string; round: number; webhookId?: string };
    /**
     * Deliveries of one publish to one webhook, all in `round` (delivery-batch.ts). A kind of its own,
     * so a process of an earlier version, which would take it for a delivery it cannot find, never
     * runs one.
     */
    "webhooks.deliver-batch": { deliveryIds: string[]; round: number; webhookId: string };
  }
}

export const DELIVER_JOB = "webhooks.deliver";
export const DELIVER_BATCH_JOB = "webhooks.deliver-batch";

/** The idempotency key of a delivery round's own job: a second enqueue of the round is a no-op. */
export function deliveryJobKey(deliveryId: string, round: number): string {
  return `${DELIVER_JOB}:${deliveryId}:${round}`;
}

export interface WebhookListItem {
  object: "Webhook";
  id: string;
  type: "AUTO";
  source: WebhookSource;
  name?: string;
  request_url: string;
  format: "json" | "form";
  enabled: boolean;
  headers: { key: string; value: string }[];
  account_ids: { id: string; type: "OUTLOOK" }[];
  data: DataItem[];
  events?: string[];
  created_at: string;
  /**
   * The webhook as stored. Unipile's SDK rejects a WebhookList carrying `mail_moved`, account-status
   * events or the `thread_id` / `deprecated_id` keys, so `events` and `data` above hold only what it
   * accepts, and the complete lists live here (docs/adr/0004-webhooks.md).
   */
  mailroom: { events: string[]; data: DataItem[]; all_accounts: boolean };
}

export interface DeliveryItem {
  object: "WebhookDelivery";
  id: string;
  webhook_id: string;
  event_id: string;
  event: string;
  account_id: string | null;
  status: WebhookDeliveryRow["status"];
  attempts: number;
  last_status_code: number | null;
  /** Why the last attempt failed: the HTTP status, a timeout, or a refused address and its reason. */
  last_error: string | null;
  /** The start of the receiver's last answer (at most 500 characters). */
  last_response_excerpt: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

/** Events made by "Send test event" have ids that start with this. */
export const TEST_EVENT_PREFIX = "test_";

export function isTestEventId(id: string): boolean {
  return id.startsWith(TEST_EVENT_PREFIX);
}

/** The name webhooks subscribe to: mail_* as is; account_status by its message, lower case. */
export function eventName(type: string, payload: Record<string, unknown>): string {
  if (type !== "account_status") return type;
  const status = (payload.AccountStatus as { message?: unknown } | undefined)?.message;
  return typeof status === "string" ? status.toLowerCase() : type;
}

/**
 * The account_status event announcing `message` for one account event: stable, so the fan-out run
 * again (a retry, a crash) publishes the same event, which the outbox stores once.
 */
export function accountEventId(accountEventId: string, message: string): string {
  return `as_${createHash("sha256").update(`${accountEventId}|${message}`).digest("base64url").slice(0, 22)}`;
}

/** A delivery of one event to one webhook, due now. */
export function newDelivery(eventId: string, webhookId: string, now: number): WebhookDeliveryRow {
  return {
    id: newId(),
    webhook_id: webhookId,
    event_id: eventId,
    status: "pending",
    attempts: 0,
    round: 0,
    last_status_code: null,
    last_error: null,
    last_response_excerpt: null,
    next_attempt_at: now,
    delivered_at: null,
    created_at: now,
    updated_at: now,
  };
}

export function pageAfter(cursor: string): PageAfter {
  const decoded = decodeCursor(cursor);
  if (typeof decoded.c !== "number" || typeof decoded.i !== "string")
    throw new AppError("invalid_parameters", { detail: "cursor: not a cursor returned by this endpoint" });
  return { createdAt: decoded.c, id: decoded.i };
}

export function parseList<T>(json: string): T[] {
  const value = JSON.parse(json) as unknown;
  return Array.isArray(value) ? (value as T[]) : [];
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function toListItem(row: WebhookRow): WebhookListItem {
  const events = parseList<string>(row.events);
  const data = parseList<DataItem>(row.data);
  const accountIds = row.account_ids ? parseList<string>(row.account_ids) : [];
  const sdkEvents = events.filter((e) => SDK_LIST_EVENTS.has(e));
  return {
    object: "Webhook",
    id: row.id,
    type: "AUTO",
    source: row.source,
    ...(row.name ? { name: row.name } : {}),
    request_url: row.request_url,
    format: row.format,
    enabled: row.enabled === 1,
    headers: parseList(row.headers),
    account_ids: accountIds.map((id) => ({ id, type: "OUTLOOK" as const })),
    data: data.filter((d) =>
      (row.source === "email_tracking" ? SDK_TRACKING_DATA_KEYS : SDK_EMAIL_DATA_KEYS).has(d.key),
    ),
    ...(sdkEvents.length > 0 ? { events: sdkEvents } : {}),
    created_at: new Date(row.created_at).toISOString(),
    mailroom: { events, data, all_accounts: row.account_ids === null },
  };
}

export function toDeliveryItem(
  row: WebhookDeliveryRow,
  type: string,
  accountId: string | null,
): DeliveryItem {
  return {
    object: "WebhookDelivery",
    id: row.id,
    webhook_id: row.webhook_id,
    event_id: row.event_id,
    event: type,
    account_id: accountId,
    status: row.status,
    attempts: row.attempts,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    last_response_excerpt: row.last_response_excerpt ?? null,
    next_attempt_at: row.status === "pending" ? iso(row.next_attempt_at) : null,
    delivered_at: iso(row.delivered_at),
    created_at: new Date(row.created_at).toISOString(),
  };
}
