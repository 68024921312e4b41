// Outgoing webhooks: Unipile's webhook API (create, list, delete), Mailroom's own (secret rotation,
// delivery log, replay), and `publish`, the durable outbox every event producer writes to.
import { createHash, randomBytes } from "node:crypto";
import type { JobQueue } from "../../jobs/queue.ts";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type {
  PageAfter,
  WebhookDeliveryRow,
  WebhookRepository,
  WebhookRow,
} from "../../storage/repositories/webhook.repository.ts";
import type { AccountEvents, AccountStatusMessage } from "../accounts/account-events.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import {
  ACCOUNT_STATUS_EVENTS,
  type DataItem,
  EMAIL_DATA_KEYS,
  EMAIL_EVENTS,
  type MailEventType,
  SDK_EMAIL_DATA_KEYS,
  SDK_LIST_EVENTS,
  type WebhookSource,
} from "./payload.ts";

declare module "../../jobs/queue.ts" {
  interface JobPayloads {
    "webhooks.deliver": { deliveryId: string; round: number };
  }
}

export const DELIVER_JOB = "webhooks.deliver";

/** An event for the outbox. `id` is the producer's stable id: publishing it again is a no-op. */
export interface PublishedEvent {
  id: string;
  type: MailEventType | "account_status";
  accountId: string;
  /**
   * mail_*: the email payload of reference §3.3 (`email_id`, `date`, `from_attendee`, …); Mailroom
   * sets `account_id`, `event` and `webhook_name` per webhook. account_status: `{AccountStatus: {…}}`.
   */
  payload: Record<string, unknown>;
}

export interface CreateWebhookInput {
  requestUrl: string;
  source: WebhookSource;
  name?: string | undefined;
  format?: "json" | "form" | undefined;
  accountIds?: string[] | undefined;
  enabled?: boolean | undefined;
  headers?: { key: string; value: string }[] | undefined;
  events?: string[] | undefined;
  data?: DataItem[] | undefined;
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
  last_error: string | null;
  /** The start of the receiver's last answer (at most 500 characters). */
  last_response_excerpt: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
}

const DEFAULT_EVENTS: Record<WebhookSource, readonly string[]> = {
  // Unipile's SDK documents mail_received as the default of an email webhook.
  email: ["mail_received"],
  account_status: ACCOUNT_STATUS_EVENTS,
};
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "te",
  "upgrade",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_REPLAY = 1_000;

export interface WebhookServiceDeps {
  repo: WebhookRepository;
  secrets: SecretBox;
  queue: JobQueue;
  clock: Clock;
}

export class WebhookService {
  constructor(private readonly d: WebhookServiceDeps) {}

  async create(input: CreateWebhookInput): Promise<{ webhookId: string; secret: string }> {
    const events = input.events ?? [...DEFAULT_EVENTS[input.source]];
    const allowed: readonly string[] = input.source === "email" ? EMAIL_EVENTS : ACCOUNT_STATUS_EVENTS;
    events.forEach((event, i) => {
      if (!allowed.includes(event))
        throw new AppError("invalid_parameters", {
          detail: `body.events[${i}]: ${JSON.stringify(event)} is not an event of source ${input.source} (${allowed.join(", ")})`,
        });
    });
    const data = input.data ?? [];
    if (input.source === "account_status" && data.length > 0)
      throw new AppError("invalid_parameters", {
        detail: "body.data: account_status payloads have no selectable keys",
      });
    data.forEach((item, i) => {
      if (!(EMAIL_DATA_KEYS as readonly string[]).includes(item.key))
        throw new AppError("invalid_parameters", {
          detail: `body.data[${i}].key: ${JSON.stringify(item.key)} is not a key of the email payload`,
        });
    });
    const headers = input.headers ?? [];
    headers.forEach(({ key }, i) => {
      const lower = key.toLowerCase();
      if (!HEADER_NAME.test(key) || RESERVED_HEADERS.has(lower) || lower.startsWith("x-mailroom-"))
        throw new AppError("invalid_parameters", {
          detail: `body.headers[${i}].key: ${JSON.stringify(key)} is not a header Mailroom can send`,
        });
    });
    const now = this.d.clock.now();
    const secret = newSecret();
    const id = newId();
    await this.d.repo.insert({
      id,
      source: input.source,
      name: input.name ?? null,
      request_url: input.requestUrl,
      format: input.format ?? "json",
      account_ids: input.accountIds && input.accountIds.length > 0 ? JSON.stringify(input.accountIds) : null,
      enabled: input.enabled === false ? 0 : 1,
      headers: JSON.stringify(headers),
      events: JSON.stringify([...new Set(events)]),
      data: JSON.stringify(data),
      secret: this.d.secrets.encrypt(secret),
      previous_secret: null,
      previous_secret_expires_at: null,
      created_at: now,
      updated_at: now,
    });
    return { webhookId: id, secret };
  }

  async list(options: { limit: number; cursor?: string | undefined }): Promise<{
    object: "WebhookList";
    items: WebhookListItem[];
    cursor: string | null;
  }> {
    const after = options.cursor ? pageAfter(options.cursor) : undefined;
    const rows = await this.d.repo.page(options.limit + 1, after);
    const page = rows.slice(0, options.limit);
    const last = page[page.length - 1];
    return {
      object: "WebhookList",
      items: page.map(toListItem),
      cursor: rows.length > options.limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
    };
  }

  async delete(id: string): Promise<void> {
    if (!(await this.d.repo.delete(id)))
      throw new AppError("resource_not_found", { detail: `Webhook ${id} not found` });
  }

  /** A new secret signs from now on; the old one keeps signing too until the grace period ends. */
  async rotateSecret(
    id: string,
    gracePeriodMs: number,
  ): Promise<{ secret: string; previousSecretExpiresAt: number }> {
    const row = await this.mustFind(id);
    const now = this.d.clock.now();
    const secret = newSecret();
    const previousSecretExpiresAt = now + gracePeriodMs;
    await this.d.repo.rotateSecret(id, {
      secret: this.d.secrets.encrypt(secret),
      previousSecret: row.secret,
      previousExpiresAt: previousSecretExpiresAt,
      at: now,
    });
    return { secret, previousSecretExpiresAt };
  }

  async listDeliveries(
    webhookId: string,
    options: {
      limit: number;
      cursor?: string | undefined;
      status?: WebhookDeliveryRow["status"] | undefined;
    },
  ): Promise<{ object: "WebhookDeliveryList"; items: DeliveryItem[]; cursor: string | null }> {
    await this.mustFind(webhookId);
    const after = options.cursor ? pageAfter(options.cursor) : undefined;
    const rows = await this.d.repo.deliveryPage(webhookId, {
      limit: options.limit + 1,
      after,
      status: options.status,
    });
    const page = rows.slice(0, options.limit);
    const items: DeliveryItem[] = [];
    for (const row of page) {
      const event = await this.d.repo.findEvent(row.event_id);
      items.push(toDeliveryItem(row, event?.type ?? "", event?.account_id ?? null));
    }
    const last = page[page.length - 1];
    return {
      object: "WebhookDeliveryList",
      items,
      cursor: rows.length > options.limit && last ? encodeCursor({ c: last.created_at, i: last.id }) : null,
    };
  }

  /**
   * Delivers again, from attempt 1: one event or delivery (whatever its delivery's state, so a receiver that lost
   * data can ask again), or every failed delivery created at or after `since`.
   */
  async replay(
    webhookId: string,
    target: { eventId: string } | { deliveryId: string } | { since: number },
  ): Promise<{ deliveryIds: string[] }> {
    const webhook = await this.mustFind(webhookId);
    let deliveries: WebhookDeliveryRow[];
    if ("deliveryId" in target) {
      const delivery = await this.d.repo.findDelivery(target.deliveryId);
      if (!delivery || delivery.webhook_id !== webhook.id)
        throw new AppError("resource_not_found", {
          detail: `Delivery ${target.deliveryId} of webhook ${webhook.id} not found`,
        });
      deliveries = [delivery];
    } else if ("eventId" in target) {
      const event = await this.d.repo.findEvent(target.eventId);
      if (!event) throw new AppError("resource_not_found", { detail: `Event ${target.eventId} not found` });
      const existing = await this.d.repo.findDeliveryFor(event.id, webhook.id);
      deliveries = [existing ?? (await this.d.repo.ensureDelivery(this.newDelivery(event.id, webhook.id)))];
    } else {
      deliveries = await this.d.repo.failedSince(webhook.id, target.since, MAX_REPLAY);
    }
    const deliveryIds: string[] = [];
    for (const delivery of deliveries) {
      const restarted = await this.d.repo.restart(delivery.id, this.d.clock.now());
      if (!restarted) continue;
      await this.enqueue(restarted);
      deliveryIds.push(restarted.id);
    }
    return { deliveryIds };
  }

  /**
   * A synthetic event of the webhook's source, in the documented shape and clearly marked as a test
   * (event id `test_…`, the `X-Mailroom-Test: true` header, `mailroom_test: true` in the body, a
   * "Mailroom test event" subject), delivered to this webhook only through the real outbox: stored,
   * signed, retried and listed among its deliveries like any other.
   */
  async sendTest(webhookId: string): Promise<{ eventId: string; deliveryId: string }> {
    const webhook = await this.mustFind(webhookId);
    const events = parseList<string>(webhook.events);
    const now = this.d.clock.now();
    const id = `${TEST_EVENT_PREFIX}${newId()}`;
    let type: string;
    let payload: Record<string, unknown>;
    if (webhook.source === "account_status") {
      type = "account_status";
      payload = {
        AccountStatus: {
          account_id: TEST_ACCOUNT_ID,
          account_type: "OUTLOOK",
          message: (events[0] ?? "ok").toUpperCase(),
        },
        mailroom_test: true,
      };
    } else {
      type = events[0] ?? "mail_received";
      payload = testEmailPayload(id, now, type);
    }
    await this.d.repo.insertEvent({
      id,
      type,
      source: webhook.source,
      account_id: TEST_ACCOUNT_ID,
      payload: JSON.stringify(payload),
      created_at: now,
    });
    const delivery = await this.d.repo.ensureDelivery(this.newDelivery(id, webhook.id));
    await this.enqueue(delivery);
    return { eventId: id, deliveryId: delivery.id };
  }

  /** A webhook's newest deliveries, newest first. */
  async recentDeliveries(webhookId: string, limit: number): Promise<DeliveryItem[]> {
    await this.mustFind(webhookId);
    const rows = await this.d.repo.recentDeliveries(webhookId, limit);
    const events = new Map(
      (await this.d.repo.findEvents([...new Set(rows.map((r) => r.event_id))])).map((e) => [e.id, e]),
    );
    return rows.map((row) => {
      const event = events.get(row.event_id);
      return toDeliveryItem(row, event?.type ?? "", event?.account_id ?? null);
    });
  }

  /** Every webhook (secrets never leave) with its newest delivery, for the dashboard. */
  async overview(limit: number): Promise<{ webhook: WebhookListItem; lastDelivery: DeliveryItem | null }[]> {
    const rows = await this.d.repo.page(limit, undefined);
    const latest = await this.d.repo.latestDeliveries(rows.map((r) => r.id));
    return rows.map((row) => {
      const delivery = latest.get(row.id);
      return {
        webhook: toListItem(row),
        lastDelivery: delivery ? toDeliveryItem(delivery, "", null) : null,
      };
    });
  }

  /** One webhook (no secret) with its newest delivery. */
  async summary(id: string): Promise<{ webhook: WebhookListItem; lastDelivery: DeliveryItem | null }> {
    const row = await this.mustFind(id);
    const [delivery] = await this.d.repo.recentDeliveries(id, 1);
    return { webhook: toListItem(row), lastDelivery: delivery ? toDeliveryItem(delivery, "", null) : null };
  }

  /** An account's newest events in the outbox, newest first, with the name webhooks subscribe to. */
  async eventsOfAccount(
    accountId: string,
    limit: number,
  ): Promise<{ id: string; type: string; name: string; payload: Record<string, unknown>; at: number }[]> {
    return (await this.d.repo.eventsOfAccount(accountId, limit)).map((row) => {
      const payload = JSON.parse(row.payload) as Record<string, unknown>;
      return { id: row.id, type: row.type, name: eventName(row.type, payload), payload, at: row.created_at };
    });
  }

  /**
   * The outbox. Resolves once the event and one delivery job per matching webhook are stored: from
   * then on a crash cannot lose it. Idempotent per event id, so a producer that is unsure whether a
   * call went through calls again (a partly stored event is completed, never duplicated).
   */
  async publish(event: PublishedEvent): Promise<{ eventId: string; deliveries: number }> {
    if (event.id.length === 0 || event.id.length > 200)
      throw new RangeError("An event id is 1 to 200 characters");
    const source: WebhookSource = event.type === "account_status" ? "account_status" : "email";
    const now = this.d.clock.now();
    await this.d.repo.insertEvent({
      id: event.id,
      type: event.type,
      source,
      account_id: event.accountId,
      payload: JSON.stringify(event.payload),
      created_at: now,
    });
    // The stored event wins over this call's copy (the first publish of an id defines it).
    const stored = await this.d.repo.findEvent(event.id);
    if (!stored) throw new Error(`Event ${event.id} vanished after insert`);
    const name = eventName(stored.type, JSON.parse(stored.payload) as Record<string, unknown>);
    let count = 0;
    for (const webhook of await this.d.repo.enabledBySource(stored.source)) {
      if (!parseList<string>(webhook.events).includes(name)) continue;
      const accounts = webhook.account_ids ? parseList<string>(webhook.account_ids) : undefined;
      if (accounts && !(stored.account_id && accounts.includes(stored.account_id))) continue;
      const delivery = await this.d.repo.ensureDelivery(this.newDelivery(stored.id, webhook.id));
      await this.enqueue(delivery);
      count++;
    }
    return { eventId: stored.id, deliveries: count };
  }

  /** Turns account outcomes (connect, reconnect, token failure, delete) into account_status events. */
  accountStatusListener(): AccountEvents {
    const publish = (
      account: { id: string; updated_at: number },
      message: AccountStatusMessage,
      reason?: string,
    ) =>
      this.publish({
        id: accountEventId(account.id, message, account.updated_at),
        type: "account_status",
        accountId: account.id,
        payload: {
          AccountStatus: {
            account_id: account.id,
            account_type: "OUTLOOK",
            message,
            ...(reason ? { reason } : {}),
          },
        },
      }).then(() => {});
    return {
      // Unipile tells receivers to wait for OK after CREATION_SUCCESS / RECONNECTED: a Microsoft
      // account can be used as soon as its tokens are stored, so OK follows at once.
      accountConnected: async ({ account, status }) => {
        await publish(account, status);
        await publish(account, "OK");
      },
      accountStatusChanged: ({ account, message, reason }) => publish(account, message, reason),
    };
  }

  private newDelivery(eventId: string, webhookId: string): WebhookDeliveryRow {
    const now = this.d.clock.now();
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

  private async enqueue(delivery: WebhookDeliveryRow): Promise<void> {
    if (delivery.status !== "pending") return;
    await this.d.queue.enqueue(
      DELIVER_JOB,
      { deliveryId: delivery.id, round: delivery.round },
      { idempotencyKey: `${DELIVER_JOB}:${delivery.id}:${delivery.round}` },
    );
  }

  private async mustFind(id: string): Promise<WebhookRow> {
    const row = await this.d.repo.findById(id);
    if (!row) throw new AppError("resource_not_found", { detail: `Webhook ${id} not found` });
    return row;
  }
}

/** Events made by `sendTest` have ids that start with this. */
export const TEST_EVENT_PREFIX = "test_";
const TEST_ACCOUNT_ID = "mailroom-test-account";

export function isTestEventId(id: string): boolean {
  return id.startsWith(TEST_EVENT_PREFIX);
}

/** The email payload of reference §3.3, filled with obviously synthetic values. */
function testEmailPayload(eventId: string, now: number, type: string): Record<string, unknown> {
  const sender = {
    display_name: "Mailroom",
    identifier: "test@mailroom.invalid",
    identifier_type: "EMAIL_ADDRESS",
  };
  return {
    email_id: eventId,
    account_id: TEST_ACCOUNT_ID,
    date: new Date(now).toISOString(),
    from_attendee: sender,
    to_attendees: [{ ...sender, display_name: "Webhook receiver", identifier: "receiver@mailroom.invalid" }],
    cc_attendees: [],
    bcc_attendees: [],
    reply_to_attendees: [],
    provider_id: eventId,
    message_id: `<${eventId}@mailroom.invalid>`,
    has_attachments: false,
    subject: "Mailroom test event",
    body: "<p>A test event sent from the Mailroom dashboard. No mailbox received this message.</p>",
    body_plain: "A test event sent from the Mailroom dashboard. No mailbox received this message.",
    attachments: [],
    folders: [type === "mail_sent" ? "Sent Items" : "Inbox"],
    role: type === "mail_sent" ? "sent" : "inbox",
    read_date: null,
    is_complete: true,
    origin: type === "mail_sent" ? "mailroom" : "external",
    thread_id: eventId,
    mailroom_test: true,
  };
}

/** The name webhooks subscribe to: mail_* as is; account_status by its message, lower case. */
export function eventName(type: string, payload: Record<string, unknown>): string {
  if (type !== "account_status") return type;
  const status = (payload.AccountStatus as { message?: unknown } | undefined)?.message;
  return typeof status === "string" ? status.toLowerCase() : type;
}

/** The same account outcome reported twice (a retried listener) is one event. */
export function accountEventId(accountId: string, message: string, at: number): string {
  return `as_${createHash("sha256").update(`${accountId}|${message}|${at}`).digest("base64url").slice(0, 22)}`;
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}

function pageAfter(cursor: string): PageAfter {
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

function toListItem(row: WebhookRow): WebhookListItem {
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
    data: data.filter((d) => SDK_EMAIL_DATA_KEYS.has(d.key)),
    ...(sdkEvents.length > 0 ? { events: sdkEvents } : {}),
    created_at: new Date(row.created_at).toISOString(),
    mailroom: { events, data, all_accounts: row.account_ids === null },
  };
}

function toDeliveryItem(row: WebhookDeliveryRow, type: string, accountId: string | null): DeliveryItem {
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
