// Table types for Kysely. Times are epoch milliseconds (integers) in both dialects; JSON is text.
import type { Generated } from "kysely";
import type {
  IdempotencyKeyTable,
  ScheduledEmailTable,
  TrackedEmailTable,
  TrackingEventTable,
} from "./schema-outbox.ts";

export type { IdempotencyKeyTable, ScheduledEmailTable, TrackedEmailTable, TrackingEventTable };

export interface MetaTable {
  key: string;
  value: string;
}

export interface ApiKeyTable {
  id: string;
  name: string;
  /** First characters of the key, shown in listings so operators can tell keys apart. */
  prefix: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface SettingTable {
  key: string;
  /** Non-secret JSON value. */
  value: string | null;
  /** Secret value, encrypted (see lib/crypto.ts). */
  secret: string | null;
  updated_at: number;
}

export interface AccountTable {
  id: string;
  type: string;
  name: string;
  email: string;
  provider_user_id: string;
  tenant_id: string | null;
  status: string;
  status_reason: string | null;
  access_token: string | null;
  refresh_token: string | null;
  access_token_expires_at: number | null;
  scopes: string | null;
  created_at: number;
  updated_at: number;
  /** When the tokens were last refreshed (null: never since connect); the proactive sweep reads it. */
  last_refreshed_at: number | null;
  /** Refresh lease: the process refreshing this account's tokens, and until when it may. */
  refresh_lock_owner: string | null;
  refresh_lock_until: number | null;
  /** Failed refreshes in a row (null: none) and when the next refresh may be tried. */
  refresh_failures: number | null;
  refresh_retry_at: number | null;
  /**
   * A shared mailbox: the account whose sign-in opens it (its tokens are that account's; this row
   * holds none). Null for a mailbox that signed in itself.
   */
  delegate_account_id: string | null;
}

export interface JobTable {
  id: string;
  kind: string;
  payload: string;
  idempotency_key: string | null;
  status: "queued" | "running" | "done" | "dead";
  run_at: number;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  /** At most one running job per key (job_locks holds it). */
  exclusive_key: string | null;
  /** Bumped by every claim, never lowered: with locked_by, the fencing token of a run. */
  claims: number;
}

/** Who holds an exclusive key: the running job, until its lease lapses. */
export interface JobLockTable {
  key: string;
  job_id: string;
  locked_until: number;
}

export interface JobScheduleTable {
  name: string;
  kind: string;
  payload: string;
  every_ms: number;
  offset_ms: number;
  /** Each slot's job gets this exclusive key. */
  exclusive_key: string | null;
  /** When the next slot falls; advanced by compare-and-set, so each slot is enqueued once. */
  next_run_at: number;
  /** The job of the last slot enqueued; while it is still queued, later slots are skipped. */
  last_job_id: string | null;
  created_at: number;
  updated_at: number;
}

/** A job enqueued in a unit of work, waiting to be moved to Redis by the BullMQ runner's relay. */
export interface JobRelayTable {
  id: string;
  kind: string;
  /** JSON. */
  payload: string;
  idempotency_key: string | null;
  exclusive_key: string | null;
  run_at: number;
  /** The enqueue's `maxAttempts` override; null: the kind's. */
  max_attempts: number | null;
  created_at: number;
}

export interface HostedLinkTable {
  id: string;
  token_hash: string;
  type: "create" | "reconnect";
  reconnect_account_id: string | null;
  name: string | null;
  notify_url: string | null;
  success_redirect_url: string | null;
  failure_redirect_url: string | null;
  bypass_success_screen: number;
  expires_at: number;
  used_at: number | null;
  account_id: string | null;
  created_at: number;
}

export interface AuthAttemptTable {
  id: string;
  state_hash: string;
  link_id: string;
  nonce: string;
  /** PKCE verifier, encrypted. */
  code_verifier: string;
  redirect_uri: string;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
}

export interface WebhookTable {
  id: string;
  source: "email" | "account_status" | "email_tracking";
  name: string | null;
  request_url: string;
  format: "json" | "form";
  /** JSON array of account ids; null: every account, present and future. */
  account_ids: string | null;
  enabled: number;
  /** JSON array of {key, value}. */
  headers: string;
  /** JSON array of event names. */
  events: string;
  /** JSON array of {name, key}: the payload keys to send, renamed; empty: the whole payload. */
  data: string;
  /** Signing secret, encrypted. */
  secret: string;
  /** The secret before the last rotation, encrypted; still signs until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookEventTable {
  /** The producer's stable id: the same event published twice is one row. */
  id: string;
  type: string;
  source: "email" | "account_status" | "email_tracking";
  account_id: string | null;
  /** JSON of the event's payload, before per-webhook shaping. */
  payload: string;
  created_at: number;
}

/** What happened to an account, written with the change itself; a job fans it out (account-events.ts). */
export interface AccountEventTable {
  id: string;
  account_id: string;
  /** CREATION_SUCCESS, RECONNECTED, CREDENTIALS or DELETED. */
  type: string;
  /** JSON: the hosted link id of a connect, the reason of CREDENTIALS. */
  payload: string;
  created_at: number;
}

/** One notify_url callback per hosted link: its attempts and last outcome. */
export interface NotifyDeliveryTable {
  link_id: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_status_code: number | null;
  /** Why the last attempt failed: the HTTP status, a timeout, or a refused address and its reason. */
  last_error: string | null;
  last_response_excerpt: string | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  event_id: string;
  status: "pending" | "delivered" | "failed";
  /** HTTP attempts in the current round (a replay starts a new round). */
  attempts: number;
  /** 0 for the first delivery, +1 per replay; part of the delivery job's idempotency key. */
  round: number;
  last_status_code: number | null;
  last_error: string | null;
  /** The first bytes (at most 500 characters) of the last attempt's response body; null before one. */
  last_response_excerpt: string | null;
  next_attempt_at: number | null;
  delivered_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RealtimeAccountTable {
  account_id: string;
  /** When the first delta round finished (history before it is never announced); null until then. */
  baseline_at: number | null;
  last_sync_at: number | null;
  /** Unused since migration 0013: the sync jobs' exclusive key `realtime.sync:<accountId>` replaced this lease. */
  sync_lock_owner: string | null;
  sync_lock_until: number | null;
  subscription_id: string | null;
  /** SHA-256 (hex) of the subscription's clientState; the secret itself is only sent to Graph. */
  client_state_hash: string | null;
  subscription_status: "none" | "active" | "failed" | "disabled";
  subscription_expires_at: number | null;
  subscription_failures: number;
  subscription_retry_at: number | null;
  subscription_error: string | null;
  last_notification_at: number | null;
  /**
   * Counts the changes Mailroom has seen in the mailbox (delta rounds that named messages, change
   * notifications, Mailroom's own writes to Graph); cached pages remember the count they were read at.
   */
  mail_version: number;
  updated_at: number;
}

export interface RealtimeFolderTable {
  account_id: string;
  folder_id: string;
  /** `@odata.deltaLink` of the last completed round (null: next round is a fresh one). */
  delta_link: string | null;
  updated_at: number;
}

export interface RealtimeMessageTable {
  account_id: string;
  /** SHA-256 (base64url) of the Graph immutable id. */
  message_key: string;
  folder_id: string;
  /** Moves seen so far: part of a mail_moved event id, so A → B → A → B announces each move. */
  moves: number;
  /** When delta reported it removed from `folder_id` (deleted, or moved where it is not seen yet). */
  gone_at: number | null;
  /** When the message was received (migration 0016): the index keeps a window of recent mail. */
  received_at: number;
  updated_at: number;
}

/** A mail sent through Mailroom's API (migration 0010). */
export interface SentMessageTable {
  account_id: string;
  /** SHA-256 (base64url) of the sent message's Graph immutable id. */
  message_key: string;
  /** The `tracking_id` the send returned. */
  tracking_id: string;
  sent_at: number;
}

/** Dashboard admins (migration 0007). */
export interface AdminTable {
  id: string;
  email: string;
  /** `scrypt$N$r$p$salt$hash` (see domain/admins/password.ts); never the password. */
  password_hash: string;
  created_at: number;
  last_sign_in_at: number | null;
}

export interface AdminSessionTable {
  id: string;
  /** SHA-256 of the cookie value. */
  token_hash: string;
  admin_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute expiry; idle expiry is `last_seen_at` + the idle limit. */
  expires_at: number;
}

export interface AdminInviteTable {
  id: string;
  token_hash: string;
  /** `setup`: the first admin (valid until an admin exists); `invite`: another admin. */
  kind: "setup" | "invite";
  email: string | null;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  used_at: number | null;
}

export interface Database {
  hosted_links: HostedLinkTable;
  auth_attempts: AuthAttemptTable;
  meta: MetaTable;
  api_keys: ApiKeyTable;
  settings: SettingTable;
  accounts: AccountTable;
  account_events: AccountEventTable;
  jobs: JobTable;
  job_locks: JobLockTable;
  job_schedules: JobScheduleTable;
  job_relay: JobRelayTable;
  webhooks: WebhookTable;
  webhook_events: WebhookEventTable;
  webhook_deliveries: WebhookDeliveryTable;
  notify_deliveries: NotifyDeliveryTable;
  realtime_accounts: RealtimeAccountTable;
  realtime_folders: RealtimeFolderTable;
  realtime_messages: RealtimeMessageTable;
  sent_messages: SentMessageTable;
  tracked_emails: TrackedEmailTable;
  tracking_events: TrackingEventTable;
  idempotency_keys: IdempotencyKeyTable;
  scheduled_emails: ScheduledEmailTable;
  admins: AdminTable;
  admin_sessions: AdminSessionTable;
  admin_invites: AdminInviteTable;
  kysely_migration: { name: string; timestamp: string };
  _seq?: { id: Generated<number> };
}

/** Every column holding an encrypted secret: key rotation and the start-up key check walk this list. */
export const SECRET_COLUMNS = [
  { table: "settings", key: "key", column: "secret" },
  { table: "accounts", key: "id", column: "access_token" },
  { table: "accounts", key: "id", column: "refresh_token" },
  { table: "auth_attempts", key: "id", column: "code_verifier" },
  { table: "webhooks", key: "id", column: "secret" },
  { table: "webhooks", key: "id", column: "previous_secret" },
  { table: "idempotency_keys", key: "id", column: "response_body" },
] as const;
