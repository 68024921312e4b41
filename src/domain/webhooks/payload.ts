// What a receiver gets: Unipile's documented payloads (reference §3.3, §3.4), shaped per webhook
// (`webhook_name`, the `data` selection and renaming) and encoded as JSON or a form.
import type { WebhookSource } from "../../contracts/webhook-events.ts";

// The event lists are part of the dashboard's contract too, so they live there (one list).
export {
  ACCOUNT_STATUS_EVENTS,
  EMAIL_EVENTS,
  type MailEventType,
  TRACKING_EVENTS,
  type TrackingEventType,
  WEBHOOK_SOURCES,
  type WebhookSource,
} from "../../contracts/webhook-events.ts";

/** Keys of the email payload a `data` item may select (Unipile's SDK list, plus SPEC's two). */
export const EMAIL_DATA_KEYS = [
  "email_id",
  "account_id",
  "webhook_name",
  "date",
  "from_attendee",
  "to_attendees",
  "cc_attendees",
  "bcc_attendees",
  "reply_to_attendees",
  "subject",
  "body",
  "body_plain",
  "message_id",
  "provider_id",
  "tracking_id",
  "read_date",
  "is_complete",
  "in_reply_to",
  "has_attachments",
  "attachments",
  "folders",
  "role",
  "origin",
  "thread_id",
  "deprecated_id",
] as const;

/**
 * Keys of the email_tracking payload a `data` item may select: Unipile's list (reference §3.5), the
 * names the outbox adds, and Mailroom's prefetch flags.
 */
export const TRACKING_DATA_KEYS = [
  "event_id",
  "tracking_id",
  "type",
  "date",
  "email_id",
  "account_id",
  "ip",
  "user_agent",
  "url",
  "label",
  "custom_domain",
  "event",
  "webhook_name",
  "is_prefetch",
  "prefetch_reason",
] as const;
/** The tracking data keys unipile-node-sdk 1.9.3 accepts in a WebhookList. */
export const SDK_TRACKING_DATA_KEYS: ReadonlySet<string> = new Set(TRACKING_DATA_KEYS.slice(0, 11));

/** Event names and data keys that unipile-node-sdk 1.9.3 accepts in a WebhookList (reference §1.8). */
export const SDK_LIST_EVENTS: ReadonlySet<string> = new Set([
  "message_received",
  "message_read",
  "message_reaction",
  "mail_sent",
  "mail_received",
  "mail_opened",
  "mail_link_clicked",
]);
export const SDK_EMAIL_DATA_KEYS: ReadonlySet<string> = new Set(
  EMAIL_DATA_KEYS.filter((k) => k !== "thread_id" && k !== "deprecated_id"),
);

export interface DataItem {
  name: string;
  key: string;
}

export interface StoredEvent {
  type: string;
  source: WebhookSource;
  account_id: string | null;
  payload: Record<string, unknown>;
}

/** The body object for one webhook: the whole documented payload, or only the `data` keys, renamed. */
export function shapePayload(
  event: StoredEvent,
  webhook: { name: string | null; data: readonly DataItem[] },
): Record<string, unknown> {
  if (event.source === "account_status") return event.payload;
  const { email_id, account_id: _a, event: _e, webhook_name: _w, ...rest } = event.payload;
  // Key order as in Unipile's documentation example.
  const full: Record<string, unknown> = {
    email_id,
    account_id: event.account_id,
    event: event.type,
    webhook_name: webhook.name ?? "",
    ...rest,
  };
  if (webhook.data.length === 0) return full;
  const selected: Record<string, unknown> = {};
  for (const { name, key } of webhook.data) if (key in full) selected[name] = full[key];
  return selected;
}

/** JSON, or a form whose non-string values are JSON (Unipile's `format: "form"`). */
export function encodeBody(
  body: Record<string, unknown>,
  format: "json" | "form",
): { body: string; contentType: string } {
  if (format === "json") return { body: JSON.stringify(body), contentType: "application/json" };
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    form.append(key, typeof value === "string" ? value : JSON.stringify(value));
  }
  return { body: form.toString(), contentType: "application/x-www-form-urlencoded" };
}
