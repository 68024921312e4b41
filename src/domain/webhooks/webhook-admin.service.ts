// Unipile's webhook API (create, list, delete) and Mailroom's secret rotation. A webhook is checked
// whole before it is stored, its URL included: a destination Mailroom would refuse to call is a 400
// now, not a delivery that silently never arrives.
import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.ts";
import type { SecretBox } from "../../lib/crypto.ts";
import { AppError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { DestinationGuard } from "../../outbound/destination.ts";
import type { WebhookRepository, WebhookRow } from "../../storage/repositories/webhook.repository.ts";
import { encodeCursor } from "../pagination.ts";
import {
  ACCOUNT_STATUS_EVENTS,
  type DataItem,
  EMAIL_DATA_KEYS,
  EMAIL_EVENTS,
  TRACKING_DATA_KEYS,
  TRACKING_EVENTS,
  type WebhookSource,
} from "./payload.ts";
import { pageAfter, toListItem, type WebhookListItem } from "./webhook-model.ts";

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

const DEFAULT_EVENTS: Record<WebhookSource, readonly string[]> = {
  // Unipile's SDK documents mail_received as the default of an email webhook.
  email: ["mail_received"],
  account_status: ACCOUNT_STATUS_EVENTS,
  // Unipile's documents say the default "includes mail_opened"; Mailroom subscribes to both.
  email_tracking: TRACKING_EVENTS,
};
const ALLOWED_EVENTS: Record<WebhookSource, readonly string[]> = {
  email: EMAIL_EVENTS,
  account_status: ACCOUNT_STATUS_EVENTS,
  email_tracking: TRACKING_EVENTS,
};
const DATA_KEYS: Record<WebhookSource, readonly string[]> = {
  email: EMAIL_DATA_KEYS,
  account_status: [],
  email_tracking: TRACKING_DATA_KEYS,
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

/** The events, data selection and headers a webhook will use; throws invalid_parameters naming the field. */
export function checkWebhookInput(input: CreateWebhookInput): {
  events: string[];
  data: DataItem[];
  headers: { key: string; value: string }[];
} {
  const events = input.events ?? [...DEFAULT_EVENTS[input.source]];
  const allowed = ALLOWED_EVENTS[input.source];
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
    if (!DATA_KEYS[input.source].includes(item.key))
      throw new AppError("invalid_parameters", {
        detail: `body.data[${i}].key: ${JSON.stringify(item.key)} is not a key of the ${input.source} payload`,
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
  return { events: [...new Set(events)], data, headers };
}

export interface WebhookAdminDeps {
  repo: WebhookRepository;
  secrets: Pick<SecretBox, "encrypt" | "decrypt">;
  destinations: DestinationGuard;
  clock: Clock;
}

export async function mustFindWebhook(repo: WebhookRepository, id: string): Promise<WebhookRow> {
  const row = await repo.findById(id);
  if (!row) throw new AppError("resource_not_found", { detail: `Webhook ${id} not found` });
  return row;
}

export class WebhookAdminService {
  constructor(private readonly d: WebhookAdminDeps) {}

  async create(input: CreateWebhookInput): Promise<{ webhookId: string; secret: string }> {
    const { events, data, headers } = checkWebhookInput(input);
    await this.d.destinations.callable(input.requestUrl, "request_url");
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
      events: JSON.stringify(events),
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
    const row = await mustFindWebhook(this.d.repo, id);
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
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}
